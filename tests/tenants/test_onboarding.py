"""Creating an administration: validation, schema provisioning, failure and retry, the command."""

import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from tenants.accounts.models import User
from tenants.models import Administration, Domain
from tenants.services import administration_create, administration_provision, administration_retry


def _slug():
    return f"onb-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "mairie_centre", "lettres minuscules"),
        ("slug", "www", "réservé"),
        ("slug", "api", "réservé"),
        ("slug", "-mairie", "ni commencer ni finir par un tiret"),
        ("slug", "mai--rie", "deux tirets"),
        ("slug", "pg-mairie", "réservé"),
        ("slug", "", "Ce champ ne peut pas être vide"),
        ("slug", "a" * 64, "63 caractères"),
        ("timezone_name", "Europe/Pariss", "fuseau horaire"),
        ("first_admin_email", "pas-un-email", "adresse e-mail valide"),
        ("kind", "royaume", "n’est pas un choix valide"),
        ("name", "", "Ce champ ne peut pas être vide"),
    ],
)
def test_bad_input_gives_french_errors_and_creates_nothing(db, field, value, message):
    data = {"name": "Commune X", "kind": "commune", "slug": _slug(), "timezone_name": "Europe/Paris",
            "first_admin_email": "admin@commune-x.fr", field: value}
    before = (Administration.objects.count(), Domain.objects.count())
    with pytest.raises(ValidationError) as error:
        administration_create(**data, provision="sync")
    assert message in " ".join(error.value.messages)
    assert (Administration.objects.count(), Domain.objects.count()) == before


def test_slug_must_be_unique(administration_a):
    with pytest.raises(ValidationError, match="déjà utilisé"):
        administration_create(name="Doublon", kind="commune", slug="test-a", first_admin_email="a@b.fr",
                              provision="sync")


def test_async_creation_defers_the_schema_to_a_task(db, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("tenants.tasks.provision_administration.delay", lambda pk: sent.append(pk))
    slug = _slug()
    with django_capture_on_commit_callbacks(execute=True):
        administration = administration_create(name="Commune Y", kind="commune", slug=slug,
                                               first_admin_email="admin@y.fr")
    assert administration.status == Administration.Status.PENDING
    assert not schema_exists(administration.schema_name)
    assert sent == [administration.pk]
    assert Domain.objects.get(tenant=administration).domain == f"{slug}.localhost"


def test_sync_creation_provisions_schema_and_invites_first_admin(committed, mailoutbox):
    slug = _slug()
    committed.append(slug)
    administration = administration_create(name="Commune Z", kind="commune", slug=slug,
                                           timezone_name="Indian/Reunion", first_admin_email="Chef@Z.fr",
                                           provision="sync")
    assert administration.status == Administration.Status.ACTIVE
    assert schema_exists(administration.schema_name)
    with tenant_context(administration):
        admin = User.objects.get(email="chef@z.fr")
        assert admin.is_administration_admin and not admin.has_usable_password()
    connection.set_schema_to_public()
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["chef@z.fr"]
    assert "Commune Z" in message.subject
    assert re.search(rf"http://{slug}\.localhost/invitation/[^/]+/[^/]+/", message.body)


def test_failed_provisioning_leaves_no_schema_and_can_be_retried(committed, monkeypatch, mailoutbox):
    slug = _slug()
    committed.append(slug)

    def broken_invite(**kwargs):
        assert schema_exists(slug.replace("-", "_"))  # the schema was really made before the failure
        raise RuntimeError("serveur SMTP injoignable")

    monkeypatch.setattr("tenants.accounts.services.agent_invite", broken_invite)
    administration = administration_create(name="Commune F", kind="commune", slug=slug,
                                           first_admin_email="admin@f.fr", provision="sync")
    assert administration.status == Administration.Status.FAILED
    assert "serveur SMTP injoignable" in administration.status_reason
    assert not schema_exists(administration.schema_name)

    monkeypatch.undo()
    administration_retry(administration=administration)
    administration = administration_provision(administration_id=administration.pk)
    assert administration.status == Administration.Status.ACTIVE
    assert schema_exists(administration.schema_name)
    assert len(mailoutbox) == 1


def test_provisioning_an_active_administration_is_a_no_op(administration_a):
    again = administration_provision(administration_id=administration_a.pk)
    assert again.status == Administration.Status.ACTIVE
    with pytest.raises(ValidationError, match="en échec"):
        administration_retry(administration=administration_a)


def test_command_creates_an_administration(committed, mailoutbox, capsys):
    slug = _slug()
    committed.append(slug)
    call_command("create_administration", name="Préfecture de Guyane", slug=slug, kind="etat",
                 timezone="America/Cayenne", admin_email="admin@guyane.gouv.fr")
    assert "active" in capsys.readouterr().out
    administration = Administration.objects.get(slug=slug)
    assert administration.status == Administration.Status.ACTIVE and administration.timezone == "America/Cayenne"
    assert len(mailoutbox) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slug": "admin"}, "réservé"),
        ({"timezone": "Mars/Olympus"}, "fuseau horaire"),
        ({"admin_email": "personne"}, "adresse e-mail valide"),
    ],
)
def test_command_refuses_bad_input(db, overrides, message):
    options = {"name": "X", "slug": _slug(), "kind": "commune", "timezone": "Europe/Paris",
               "admin_email": "a@x.fr", **overrides}
    count = Administration.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("create_administration", **options)
    assert Administration.objects.count() == count


def test_command_exits_non_zero_with_a_message(db):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "create_administration", "--name", "X", "--slug", "www", "--kind", "commune",
         "--admin-email", "a@x.fr"],
        capture_output=True, text=True, timeout=60,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
             "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}"},
    )
    assert result.returncode != 0
    assert "réservé" in result.stderr
