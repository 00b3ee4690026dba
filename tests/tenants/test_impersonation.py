"""Support staff signing in as an agent: from the console form to the administration's host, the
banner, the exit, the one-hour limit, refused links, suspended administrations and the audit log."""

from __future__ import annotations

import html
from datetime import timedelta
from urllib.parse import urlparse

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from tenants.impersonation import impersonation_start
from tenants.models import Administration, ImpersonationLog
from tenants.services import administration_suspend
from tests.conftest import make_client

REASON = "Ticket 4242 : l'agent ne voit plus son agenda"
LOG_URL = "/console/tenants/impersonationlog/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def form_url(administration):
    return f"/console/tenants/administration/{administration.pk}/connexion-agent/"


def start(support_client, administration, agent, reason=REASON):
    """Submit the console form; return the redirect's absolute URL."""
    response = support_client.post(form_url(administration), {"agent_email": agent.email, "reason": reason})
    assert response.status_code == 302, text(response)[:2000]
    return response["Location"]


def enter(administration, url):
    """Open the link on the administration's host, as the support member's browser does."""
    link = urlparse(url)
    assert link.hostname == administration.primary_domain
    client = make_client(administration)
    return client, client.get(link.path)


# --- The full flow ---------------------------------------------------------------------------------

def test_start_enter_banner_and_exit(support, support_client, administration_a, agent_a):
    page = text(support_client.get(form_url(administration_a)))
    assert "Se connecter en tant qu'agent" in page
    assert 'name="agent_email"' in page and 'name="reason"' in page

    url = start(support_client, administration_a, agent_a)
    log = ImpersonationLog.objects.get()
    assert (log.support_user, log.administration, log.agent_email, log.reason) == (
        support, administration_a, agent_a.email, REASON
    )
    assert log.expires_at - log.started_at == timedelta(hours=1)
    assert log.consumed_at is None and log.ended_at is None

    client, response = enter(administration_a, url)
    assert response.status_code == 302
    assert response["Location"] == "/agents/"
    response = client.get("/agents/")
    assert response.status_code == 200
    assert response.wsgi_request.user.pk == agent_a.pk
    body = text(response)
    assert "Connecté en tant que" in body
    assert support.email in body
    assert "Quitter cette connexion" in body
    log.refresh_from_db()
    assert log.consumed_at is not None
    # The banner stays on every page of the administration.
    assert "Connecté en tant que" in text(client.get("/"))

    response = client.post("/connexion-support/fin/")
    assert response.status_code == 302
    assert response["Location"].endswith("/console/")
    log.refresh_from_db()
    assert log.ended_at is not None
    assert log.end_reason == "manuelle"
    response = client.get("/agents/")
    assert response.status_code == 302  # signed out: the sign-in page
    assert "Connecté en tant que" not in text(client.get("/"))


def test_after_one_hour_the_next_request_ends_it(support_client, administration_a, agent_a):
    url = start(support_client, administration_a, agent_a)
    client, _ = enter(administration_a, url)
    log = ImpersonationLog.objects.get()

    with time_machine.travel(timezone.now() + timedelta(minutes=59)):
        assert client.get("/agents/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        response = client.get("/agents/")
        assert response.status_code == 403
        assert "La connexion en tant qu'agent est terminée" in text(response)
        log.refresh_from_db()
        assert log.end_reason == "expiration"
        assert log.ended_at is not None
        # The session is closed: the agent's pages ask for a sign-in again.
        response = client.get("/agents/")
        assert response.status_code == 302


# --- Refused links ---------------------------------------------------------------------------------

def test_a_reused_link_is_refused(support_client, administration_a, agent_a):
    url = start(support_client, administration_a, agent_a)
    enter(administration_a, url)
    _, response = enter(administration_a, url)
    assert response.status_code == 403
    assert "Ce lien de connexion a déjà servi ou a expiré." in text(response)


def test_a_tampered_link_is_refused(support_client, administration_a, agent_a):
    url = start(support_client, administration_a, agent_a)
    _, response = enter(administration_a, url.rstrip("/") + "x/")
    assert response.status_code == 403
    assert "Ce lien de connexion n'est pas valide." in text(response)
    assert ImpersonationLog.objects.get().consumed_at is None


def test_a_link_for_another_administration_is_refused(support_client, administration_a, administration_b, agent_a):
    url = start(support_client, administration_a, agent_a)
    response = make_client(administration_b).get(urlparse(url).path)
    assert response.status_code == 403
    assert "Ce lien de connexion n'est pas valide." in text(response)
    assert ImpersonationLog.objects.get().consumed_at is None


def test_a_stale_link_is_refused(support_client, administration_a, agent_a):
    url = start(support_client, administration_a, agent_a)
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        _, response = enter(administration_a, url)
    assert response.status_code == 403
    assert "Ce lien de connexion a expiré." in text(response)


def test_a_link_to_a_deactivated_agent_is_refused(support_client, administration_a, agent_a):
    from django_tenants.utils import tenant_context

    url = start(support_client, administration_a, agent_a)
    with tenant_context(administration_a):
        agent_a.is_active = False
        agent_a.save()
    _, response = enter(administration_a, url)
    assert response.status_code == 403
    assert "Cet agent n'existe plus ou a été désactivé." in text(response)


# --- The console form ------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "message"), [
    ({"agent_email": "agent@test-a.fr", "reason": "court"}, "10 caractères au moins"),
    ({"agent_email": "agent@test-a.fr", "reason": "          espaces  "}, "10 caractères au moins"),
    ({"agent_email": "agent@test-a.fr", "reason": ""}, "10 caractères au moins"),
    ({"agent_email": "inconnu@test-a.fr", "reason": REASON}, "Aucun agent actif avec cette adresse"),
    ({"agent_email": "agent@test-b.fr", "reason": REASON}, "Aucun agent actif avec cette adresse"),
    ({"agent_email": "pas-un-email", "reason": REASON}, "Saisissez une adresse e-mail valide."),
])
def test_bad_input_is_refused_in_french(support_client, administration_a, agent_a, agent_b, data, message):
    response = support_client.post(form_url(administration_a), data)
    assert response.status_code == 200
    assert message in text(response)
    assert not ImpersonationLog.objects.exists()


def test_a_pending_administration_cannot_be_entered(support_client):
    administration = Administration.objects.create(
        name="En attente", kind="commune", slug="en-attente", schema_name="en_attente",
        first_admin_email="dgs@en-attente.fr",
    )
    body = text(support_client.get(f"/console/tenants/administration/{administration.pk}/change/"))
    assert "connexion-agent" not in body
    response = support_client.post(form_url(administration), {"agent_email": "a@b.fr", "reason": REASON})
    assert response.status_code == 200
    assert "Cette administration n'est pas encore active." in text(response)
    assert not ImpersonationLog.objects.exists()


def test_operators_cannot_sign_in_as_an_agent(operator, operator_client, administration_a, agent_a):
    response = operator_client.post(form_url(administration_a), {"agent_email": agent_a.email, "reason": REASON})
    assert response.status_code == 403
    assert "Accès refusé" in text(response)
    with pytest.raises(ValidationError):
        impersonation_start(support_user=operator, administration=administration_a, agent_email=agent_a.email,
                            reason=REASON)
    assert not ImpersonationLog.objects.exists()


# --- Suspended administrations ---------------------------------------------------------------------

def test_an_open_impersonation_survives_a_suspension_that_closes_it_to_others(
    support_client, administration_a, agent_a, agent_a_client, client_a
):
    url = start(support_client, administration_a, agent_a)
    client, response = enter(administration_a, url)
    assert response.status_code == 302
    administration_suspend(administration=administration_a, reason="Incident")

    response = client.get("/agents/")
    assert response.status_code == 200
    assert "Connecté en tant que" in text(response)
    for other in (client_a, agent_a_client):
        response = other.get("/agents/")
        assert response.status_code == 403
        assert "est suspendue" in text(response)


def test_support_can_enter_a_suspended_administration(support_client, administration_a, agent_a, client_a):
    administration_suspend(administration=administration_a, reason="Incident")
    url = start(support_client, administration_a, agent_a)
    client, response = enter(administration_a, url)
    assert response.status_code == 302
    response = client.get("/agents/")
    assert response.status_code == 200
    assert "Connecté en tant que" in text(response)
    assert client_a.get("/agents/").status_code == 403


# --- The audit log in the console ------------------------------------------------------------------

def test_the_log_lists_start_end_and_reason_read_only(support_client, operator_client, administration_a, agent_a):
    url = start(support_client, administration_a, agent_a)
    client, _ = enter(administration_a, url)
    client.post("/connexion-support/fin/")
    log = ImpersonationLog.objects.get()

    for console in (support_client, operator_client):
        body = text(console.get(LOG_URL))
        assert agent_a.email in body
        assert "Ticket 4242" in body
        assert "manuelle" in body
    body = text(support_client.get(LOG_URL))
    assert f'href="{LOG_URL}add/"' not in body
    assert support_client.get(f"{LOG_URL}add/").status_code == 403
    detail = text(support_client.get(f"{LOG_URL}{log.pk}/change/"))
    assert REASON in detail
    assert 'name="_save"' not in detail
    assert support_client.post(f"{LOG_URL}{log.pk}/change/", {"reason": "effacé"}).status_code == 403
    assert support_client.post(f"{LOG_URL}{log.pk}/delete/").status_code == 403
    assert ImpersonationLog.objects.get().reason == REASON


def test_the_log_can_be_filtered(support_client, administration_a, administration_b, agent_a, agent_b):
    start(support_client, administration_a, agent_a)
    start(support_client, administration_b, agent_b)
    response = support_client.get(LOG_URL, {"administration__id__exact": administration_b.pk})
    assert [log.agent_email for log in response.context["cl"].result_list] == [agent_b.email]
    response = support_client.get(LOG_URL, {"q": "agent@test-a.fr"})
    assert [log.agent_email for log in response.context["cl"].result_list] == [agent_a.email]
    body = text(support_client.get(LOG_URL))
    assert "en cours" in body


def test_unfinished_past_impersonations_show_as_expired(support_client, administration_a, agent_a):
    start(support_client, administration_a, agent_a)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert "expirée (non refermée)" in text(support_client.get(LOG_URL))
