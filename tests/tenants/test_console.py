"""The super-admin console: access (staff, role, second factor), onboarding by operators, the
administration list for support, suspension, and the read-only logs. Persona by persona."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.conf import settings
from django_tenants.utils import schema_context, tenant_context

from tenants import selectors
from tenants.models import Administration, DevelopmentEmail, Domain, ImpersonationLog
from tests.conftest import console_client, make_client
from tests.factories import PASSWORD, TOTP_SECRET, ConsoleUserFactory, UserFactory

ADMIN_URL = "/console/tenants/administration/"


def totp_code(secret: str = TOTP_SECRET) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def page(administration, action=""):
    return f"{ADMIN_URL}{administration.pk}/{action}"


# --- Local personas --------------------------------------------------------------------------------

@pytest.fixture
def staff_without_role(db):
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return ConsoleUserFactory(email="sans-role@plateforme.fr", console_role="")


@pytest.fixture
def public_user(db):
    """A platform account that is not staff at all."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return UserFactory(email="visiteur@plateforme.fr")


@pytest.fixture
def staff_without_totp(db):
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return ConsoleUserFactory(email="nouveau-support@plateforme.fr", console_role="support", totp=False)


@pytest.fixture
def failed_administration(db):
    administration = Administration.objects.create(
        name="Commune en échec", kind=Administration.Kind.COMMUNE, slug="commune-echec",
        schema_name="commune_echec", first_admin_email="maire@commune-echec.fr",
        status=Administration.Status.FAILED, status_reason="OperationalError: la base ne répond pas",
    )
    Domain.objects.create(domain=administration.primary_domain, tenant=administration, is_primary=True)
    return administration


@pytest.fixture
def pending_administration(db):
    administration = Administration.objects.create(
        name="Commune en attente", kind=Administration.Kind.COMMUNE, slug="commune-attente",
        schema_name="commune_attente", first_admin_email="maire@commune-attente.fr",
    )
    Domain.objects.create(domain=administration.primary_domain, tenant=administration, is_primary=True)
    return administration


# --- Access ----------------------------------------------------------------------------------------

def test_anonymous_is_sent_to_allauth_login(platform_client):
    response = platform_client.get("/console/")
    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")
    response = platform_client.get(response["Location"])
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert location.path == "/comptes/login/"
    assert parse_qs(location.query)["next"] == ["/console/"]


def test_login_page_refuses_an_external_next(platform_client):
    response = platform_client.get("/console/login/?next=https://ailleurs.example/")
    assert parse_qs(urlparse(response["Location"]).query)["next"] == ["/console/"]


def test_full_sign_in_with_password_and_totp_opens_the_console(operator, platform_client):
    response = platform_client.post(
        "/comptes/login/?next=/console/", {"login": operator.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert "/2fa/authenticate/" in response["Location"]
    response = platform_client.post(response["Location"], {"code": totp_code()})
    assert response.status_code == 302
    assert response["Location"] == "/console/"
    response = platform_client.get("/console/")
    assert response.status_code == 200
    assert "Console RDV Service Public" in response.content.decode()


def test_password_only_is_not_enough(operator):
    client = console_client(operator, with_mfa=False)
    response = client.get("/console/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/comptes/2fa/reauthenticate/")
    assert response.status_code == 200


def test_staff_without_totp_activates_it_then_types_the_code(staff_without_totp, platform_client):
    client = platform_client
    response = client.post("/comptes/login/?next=/console/", {"login": staff_without_totp.email, "password": PASSWORD})
    assert response["Location"] == "/console/"
    response = client.get("/console/", follow=True)
    assert any(urlparse(url).path == "/comptes/2fa/totp/activate/" for url, _ in response.redirect_chain)
    # allauth asks for the password again before adding a factor, then shows the activation form.
    last = response.redirect_chain[-1][0]
    assert urlparse(last).path == "/comptes/reauthenticate/"
    response = client.post(last, {"password": PASSWORD}, follow=True)
    assert urlparse(response.redirect_chain[-1][0]).path == "/comptes/2fa/totp/activate/"
    assert response.status_code == 200
    assert 'name="code"' in response.content.decode()

    secret = client.session[SECRET_SESSION_KEY]
    response = client.post("/comptes/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=staff_without_totp, type=Authenticator.Type.TOTP).exists()

    # Activating records no second factor for the session: the code is asked once more.
    response = client.get("/console/", follow=True)
    last = urlparse(response.redirect_chain[-1][0])
    assert last.path == "/comptes/2fa/reauthenticate/"
    with time_machine.travel(time.time() + 30, tick=False):  # the next code of the application
        response = client.post(response.redirect_chain[-1][0], {"code": totp_code(secret)})
        assert response.status_code == 302
        assert response["Location"] == "/console/"
        assert client.get("/console/").status_code == 200


def test_a_staff_account_without_role_gets_a_french_403(staff_without_role):
    client = console_client(staff_without_role)
    response = client.get("/console/", follow=True)
    assert response.status_code == 403
    assert "Accès refusé" in response.content.decode()


def test_a_non_staff_platform_account_gets_a_french_403(public_user):
    client = console_client(public_user)
    response = client.get("/console/tenants/administration/", follow=True)
    assert response.status_code == 403
    assert "réservée aux opérateurs nationaux et au support" in response.content.decode()


def test_an_inactive_operator_is_refused(operator):
    operator.is_active = False
    operator.save()
    client = console_client(operator)
    response = client.get("/console/", follow=True)
    assert response.status_code in (200, 403)
    assert response.redirect_chain and "/console/" != response.redirect_chain[-1][0]
    assert "Administrations et support" not in response.content.decode()


def test_agent_session_of_an_administration_is_anonymous_on_the_console(agent_a_client):
    # The same cookies, sent to the platform host: the session lives in A's schema only.
    response = agent_a_client.get("/console/", HTTP_HOST=settings.BASE_DOMAIN)
    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")


def test_agent_credentials_do_not_open_the_platform(agent_a, platform_client):
    response = platform_client.post("/comptes/login/", {"login": agent_a.email, "password": PASSWORD})
    assert response.status_code == 200  # the form again, with an error
    assert platform_client.get("/console/").status_code == 302


@pytest.mark.parametrize("path", ["/console/", "/console/login/", ADMIN_URL, f"{ADMIN_URL}add/",
                                  "/console/tenants/impersonationlog/"])
def test_console_is_not_served_on_an_administration_host(client_a, support, path):
    assert client_a.get(path).status_code == 404


# --- Persona matrix --------------------------------------------------------------------------------

PAGES = {
    "index": lambda a: "/console/",
    "list": lambda a: ADMIN_URL,
    "add": lambda a: f"{ADMIN_URL}add/",
    "change": lambda a: page(a, "change/"),
    "suspend": lambda a: page(a, "suspendre/"),
    "reactivate": lambda a: page(a, "reactiver/"),
    "retry": lambda a: page(a, "relancer/"),
    "impersonate": lambda a: page(a, "connexion-agent/"),
    "delete": lambda a: page(a, "delete/"),
    "log": lambda a: "/console/tenants/impersonationlog/",
    "log_add": lambda a: "/console/tenants/impersonationlog/add/",
    "emails": lambda a: "/console/tenants/developmentemail/",
}
EXPECTED = {
    #              index list add  change susp react retry imp  del  log  log_add emails
    "operator": (200, 200, 200, 200, 403, 403, 200, 403, 403, 200, 403, 403),
    "support": (200, 200, 403, 200, 200, 200, 403, 200, 403, 200, 403, 200),
    "superuser": (200, 200, 200, 200, 200, 200, 200, 200, 403, 200, 403, 200),
}


@pytest.fixture
def superuser(db):
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return ConsoleUserFactory(email="racine@plateforme.fr", console_role="", is_superuser=True)


@pytest.mark.parametrize("persona", list(EXPECTED))
def test_console_users_get_the_pages_of_their_role(request, persona, administration_a):
    client = console_client(request.getfixturevalue(persona))
    answers = tuple(client.get(url(administration_a)).status_code for url in PAGES.values())
    assert dict(zip(PAGES, answers, strict=True)) == dict(zip(PAGES, EXPECTED[persona], strict=True))


@pytest.mark.parametrize("persona", ["anonymous", "agent_a", "staff_without_mfa", "staff_without_role", "public_user"])
def test_others_get_no_console_page(request, persona, administration_a):
    if persona == "anonymous":
        client = make_client(None)
    elif persona == "agent_a":
        client = request.getfixturevalue("agent_a_client")
        client.defaults["HTTP_HOST"] = settings.BASE_DOMAIN
    elif persona == "staff_without_mfa":
        client = console_client(request.getfixturevalue("support"), with_mfa=False)
    else:
        client = console_client(request.getfixturevalue(persona))
    for name, url in PAGES.items():
        response = client.get(url(administration_a))
        assert response.status_code in (302, 403), (name, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith("/console/login/"), name
    for name in ("suspend", "reactivate", "retry", "impersonate"):
        response = client.post(PAGES[name](administration_a), {"reason": "x" * 20, "agent_email": "a@b.fr"})
        assert response.status_code in (302, 403)
        assert not response.get("Location", "").startswith("http"), name
    administration_a.refresh_from_db()
    assert administration_a.status == Administration.Status.ACTIVE
    assert not ImpersonationLog.objects.exists()


# --- Onboarding ------------------------------------------------------------------------------------

def test_add_form_keeps_its_field_names(operator_client):
    body = operator_client.get(f"{ADMIN_URL}add/").content.decode()
    for name in ("name", "kind", "slug", "timezone", "first_admin_email"):
        assert f'name="{name}"' in body
    assert 'value="Europe/Paris"' in body
    assert "Créer une administration" in body
    assert "css/console.css" in body


def test_operator_creates_an_administration_without_creating_its_schema(
    operator, operator_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = operator_client.post(f"{ADMIN_URL}add/", {
            "name": "Mairie de Saint-Denis", "kind": "commune", "slug": "saint-denis-974",
            "timezone": "Indian/Reunion", "first_admin_email": "DGS@Saint-Denis.re",
        })
    administration = Administration.objects.get(slug="saint-denis-974")
    assert response.status_code == 302
    assert response["Location"] == page(administration, "change/")
    assert administration.status == Administration.Status.PENDING
    assert administration.timezone == "Indian/Reunion"
    assert administration.first_admin_email == "dgs@saint-denis.re"
    assert administration.created_by == operator
    assert Domain.objects.filter(tenant=administration, domain="saint-denis-974.localhost").exists()
    assert len(callbacks) == 1  # provisioning is queued after commit, not run in the request
    with connection_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'saint_denis_974'")
        assert cursor.fetchone() is None

    body = operator_client.get(response["Location"]).content.decode()
    assert "En cours de création" in body
    assert "est en cours de création" in body  # the success message


def connection_cursor():
    from django.db import connection

    return connection.cursor()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("slug", "admin", "est réservé par la plateforme"),
    ("slug", "Mairie_X", "lettres minuscules sans accent"),
    ("slug", "-mairie", "ni commencer ni finir par un tiret"),
    ("slug", "test-a", "déjà utilisé"),
    ("slug", "", "L&#x27;identifiant est obligatoire"),
    ("timezone", "Europe/Lutece", "n&#x27;est pas un fuseau horaire reconnu"),
    ("first_admin_email", "pas-un-email", "Saisissez une adresse e-mail valide"),
    ("kind", "", "Choisissez le type d&#x27;administration"),
    ("kind", "royaume", "Ce type d&#x27;administration n&#x27;existe pas"),
    ("name", "", "Indiquez le nom de l&#x27;administration"),
])
def test_bad_input_is_refused_in_french_and_creates_nothing(operator_client, field, value, message):
    data = {"name": "Mairie de Test", "kind": "commune", "slug": "mairie-de-test",
            "timezone": "Europe/Paris", "first_admin_email": "dgs@mairie.fr", field: value}
    before = (Administration.objects.count(), Domain.objects.count())
    response = operator_client.post(f"{ADMIN_URL}add/", data)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert "Corrigez" in body
    assert (Administration.objects.count(), Domain.objects.count()) == before


def test_a_leftover_domain_is_reported_on_the_form(operator_client, administration_b):
    Domain.objects.create(domain="orpheline.localhost", tenant=administration_b, is_primary=False)
    response = operator_client.post(f"{ADMIN_URL}add/", {
        "name": "Orpheline", "kind": "commune", "slug": "orpheline", "timezone": "Europe/Paris",
        "first_admin_email": "dgs@orpheline.fr",
    })
    assert response.status_code == 200
    assert "Ce sous-domaine est déjà utilisé." in response.content.decode()
    assert not Administration.objects.filter(slug="orpheline").exists()


def test_support_cannot_create(support_client):
    response = support_client.post(f"{ADMIN_URL}add/", {
        "name": "Mairie", "kind": "commune", "slug": "mairie-support", "timezone": "Europe/Paris",
        "first_admin_email": "dgs@mairie.fr",
    })
    assert response.status_code == 403
    assert not Administration.objects.filter(slug="mairie-support").exists()
    assert f'href="{ADMIN_URL}add/"' not in support_client.get(ADMIN_URL).content.decode()


def test_failed_creation_shows_its_reason_and_can_be_retried(
    operator_client, failed_administration, django_capture_on_commit_callbacks
):
    body = operator_client.get(ADMIN_URL).content.decode()
    assert "Échec de la création : OperationalError: la base ne répond pas" in body
    body = operator_client.get(page(failed_administration, "change/")).content.decode()
    assert "Relancer la création" in body
    assert "Suspendre" not in body

    confirmation = operator_client.get(page(failed_administration, "relancer/")).content.decode()
    assert "la base ne répond pas" in confirmation
    with django_capture_on_commit_callbacks() as callbacks:
        response = operator_client.post(page(failed_administration, "relancer/"))
    assert response.status_code == 302
    failed_administration.refresh_from_db()
    assert failed_administration.status == Administration.Status.PENDING
    assert failed_administration.status_reason == ""
    assert len(callbacks) == 1


def test_retry_of_an_active_administration_is_refused_with_a_message(operator_client, administration_a):
    response = operator_client.post(page(administration_a, "relancer/"), follow=True)
    assert "Seule une création en échec peut être relancée." in response.content.decode()
    administration_a.refresh_from_db()
    assert administration_a.status == Administration.Status.ACTIVE


def test_retry_action_on_the_list(
    operator_client, failed_administration, administration_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = operator_client.post(ADMIN_URL, {
            "action": "retry_failed", "_selected_action": [failed_administration.pk, administration_a.pk],
        }, follow=True)
    assert "Création relancée pour 1 administration(s)." in response.content.decode()
    failed_administration.refresh_from_db()
    assert failed_administration.status == Administration.Status.PENDING
    assert len(callbacks) == 1


# --- Support: list, search, counts, suspension ---------------------------------------------------

def _scheduling_figures(administration):
    from scheduling.models import Agent, Appointment

    with tenant_context(administration):
        return Agent.objects.filter(deleted_at__isnull=True).count(), Appointment.objects.count()


def test_list_shows_status_domains_and_agent_and_appointment_counts(
    support_client, administration_a, pending_administration
):
    from scheduling.models import Appointment
    from tests.scheduling.factories import AgentFactory, AppointmentTypeFactory, LocationFactory

    with tenant_context(administration_a):
        location = LocationFactory()
        kind = AppointmentTypeFactory(organisation=location.organisation)
        AgentFactory(), AgentFactory()
        Appointment.objects.create(organisation=location.organisation, appointment_type=kind, location=location,
                                   starts_at="2027-01-04T09:00+01:00", ends_at="2027-01-04T09:30+01:00")
    agents, appointments = _scheduling_figures(administration_a)
    response = support_client.get(ADMIN_URL)
    body = response.content.decode()
    assert "test-a.localhost" in body
    assert "En cours de création" in body
    rows = {row.pk: row for row in response.context["cl"].result_list}
    assert (rows[administration_a.pk].console_counts.agents, rows[administration_a.pk].console_counts.appointments) == (
        agents, appointments
    )
    assert agents >= 2 and appointments >= 1
    assert rows[pending_administration.pk].console_counts.agents is None


def test_counts_cost_two_queries_whatever_the_number_of_administrations(
    administration_a, administration_b, administration_etat, pending_administration, django_assert_num_queries
):
    administrations = [administration_a, administration_b, administration_etat, pending_administration]
    with django_assert_num_queries(2):
        counts = selectors.administration_counts(administrations)
    for administration in (administration_a, administration_b, administration_etat):
        figures = _scheduling_figures(administration)
        assert (counts[administration.pk].agents, counts[administration.pk].appointments) == figures
    assert counts[pending_administration.pk].available is False


def test_list_query_count_does_not_grow_with_rows(support_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        assert support_client.get(ADMIN_URL).status_code == 200


@pytest.mark.parametrize(("term", "found", "absent"), [
    ("Département", "test-a", "test-b"),
    ("test-b", "test-b", "test-a."),
    ("test-etat.localhost", "test-etat", "test-b"),
])
def test_search_by_name_slug_and_domain(support_client, term, found, absent):
    response = support_client.get(ADMIN_URL, {"q": term})
    slugs = {row.slug for row in response.context["cl"].result_list}
    assert found in slugs
    assert absent.rstrip(".") not in slugs


def test_support_suspends_then_reactivates(support_client, administration_a, client_a):
    body = support_client.get(page(administration_a, "change/")).content.decode()
    assert "Suspendre" in body and "Se connecter en tant qu'agent" in body
    confirmation = support_client.get(page(administration_a, "suspendre/")).content.decode()
    assert "Suspendre l&#x27;administration" in confirmation
    response = support_client.post(page(administration_a, "suspendre/"), {"reason": "Impayé"}, follow=True)
    assert "est suspendue" in response.content.decode()
    administration_a.refresh_from_db()
    assert administration_a.status == Administration.Status.SUSPENDED
    assert administration_a.status_reason == "Impayé"
    assert client_a.get("/").status_code == 403

    body = support_client.get(page(administration_a, "change/")).content.decode()
    assert "Réactiver" in body
    support_client.post(page(administration_a, "reactiver/"))
    administration_a.refresh_from_db()
    assert administration_a.status == Administration.Status.ACTIVE
    assert client_a.get("/").status_code == 200


def test_suspending_needs_a_post(support_client, administration_a):
    support_client.get(page(administration_a, "suspendre/"))
    administration_a.refresh_from_db()
    assert administration_a.status == Administration.Status.ACTIVE


def test_reactivating_an_active_administration_gives_a_message(support_client, administration_a):
    response = support_client.post(page(administration_a, "reactiver/"), follow=True)
    assert "Seule une administration suspendue peut être réactivée." in response.content.decode()


def test_unknown_administration_is_a_404_not_a_500(support_client):
    assert support_client.get(f"{ADMIN_URL}999999/suspendre/").status_code == 404
    assert support_client.get(f"{ADMIN_URL}999999/change/").status_code == 302  # admin: "n'existe pas"


# --- Read-only logs --------------------------------------------------------------------------------

def test_development_emails_are_readable_by_support_only(support_client, operator_client):
    email = DevelopmentEmail.objects.create(
        schema_name="test_a", from_email="ne-pas-repondre@rdv.localhost", to="dgs@mairie.fr",
        subject="Votre invitation", body="Bonjour,\n<choisissez> votre mot de passe : http://lien",
    )
    url = f"/console/tenants/developmentemail/{email.pk}/change/"
    body = support_client.get(url).content.decode()
    assert "Votre invitation" in body
    assert "&lt;choisissez&gt; votre mot de passe" in body  # shown, escaped
    assert 'name="_save"' not in body
    assert support_client.post(url, {"subject": "changé"}).status_code == 403
    assert support_client.post(f"/console/tenants/developmentemail/{email.pk}/delete/").status_code == 403
    assert operator_client.get(url).status_code == 403
    email.refresh_from_db()
    assert email.subject == "Votre invitation"


def test_the_console_index_lists_what_each_role_may_see(operator_client, support_client):
    operator_body = operator_client.get("/console/").content.decode()
    support_body = support_client.get("/console/").content.decode()
    assert "Administrations" in operator_body and "Administrations" in support_body
    assert "developmentemail" not in operator_body
    assert "developmentemail" in support_body
    assert "impersonationlog" in operator_body and "impersonationlog" in support_body
