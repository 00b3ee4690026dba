"""Tenant isolation: what belongs to one administration is invisible from another."""

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django_tenants.utils import get_tenant_model, schema_context, tenant_context

from tests.conftest import login_client, make_client
from tests.factories import UserFactory


def _tables_in(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_agent_of_a_cannot_sign_in_on_b(administration_a, administration_b, agent_a):
    client_b = make_client(administration_b)
    response = client_b.post("/comptes/login/", {"login": agent_a.email, "password": "Mot-de-passe-de-test-2026"})
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client_b.session
    assert "le mot de passe sont incorrects" in response.content.decode()


def test_session_of_a_is_anonymous_on_b(administration_a, administration_b, agent_a):
    client = login_client(administration_a, agent_a)
    assert client.get("/agents/").status_code == 200
    # Same cookie jar, other host: the session key means nothing in B's schema.
    client.defaults["HTTP_HOST"] = administration_b.primary_domain
    response = client.get("/agents/")
    assert response.status_code == 302
    assert response["Location"].startswith("/comptes/login/")


def test_cookies_are_host_only():
    assert settings.SESSION_COOKIE_DOMAIN is None
    assert settings.CSRF_COOKIE_DOMAIN is None


def test_user_of_a_is_absent_from_b(administration_a, administration_b, agent_a):
    User = apps.get_model("accounts", "User")
    with tenant_context(administration_b):
        assert not User.objects.filter(email=agent_a.email).exists()
    with tenant_context(administration_a):
        assert User.objects.filter(email=agent_a.email).exists()


def test_cache_entry_of_a_is_unreadable_in_b(administration_a, administration_b):
    with tenant_context(administration_a):
        cache.set("isolation-key", "secret-de-a", 30)
        assert cache.get("isolation-key") == "secret-de-a"
    with tenant_context(administration_b):
        assert cache.get("isolation-key") is None
        cache.set("isolation-key", "valeur-de-b", 30)
    with tenant_context(administration_a):
        assert cache.get("isolation-key") == "secret-de-a"
        cache.delete("isolation-key")
    with tenant_context(administration_b):
        cache.delete("isolation-key")


def test_uploaded_file_of_a_is_stored_under_a_and_not_served_on_b(administration_a, administration_b):
    with tenant_context(administration_a):
        name = default_storage.save("documents/isolation.txt", ContentFile(b"fichier de A"))
        path = default_storage.path(name)
    try:
        assert f"/{administration_a.schema_name}/" in path
        served = make_client(administration_a).get(f"/media/{name}")
        assert served.status_code == 200
        assert b"".join(served.streaming_content) == b"fichier de A"
        assert make_client(administration_b).get(f"/media/{name}").status_code == 404
        # No escaping the administration's folder either.
        traversal = f"/media/../{administration_a.schema_name}/{name}"
        assert make_client(administration_b).get(traversal).status_code == 404
        assert make_client(administration_a).get("/media/a%00b.txt").status_code == 404  # NUL byte: no 500
    finally:
        with tenant_context(administration_a):
            default_storage.delete(name)


def test_every_tenant_model_lives_in_tenant_schemas_only(administration_a):
    tenant_only = {
        model._meta.db_table
        for app in settings.TENANT_APPS if app not in settings.SHARED_APPS
        for model in apps.get_app_config(app.rsplit(".", 1)[-1]).get_models()
    }
    shared_only = {
        model._meta.db_table
        for app in settings.SHARED_APPS if app not in settings.TENANT_APPS
        for model in apps.get_app_config(app.rsplit(".", 1)[-1]).get_models()
    }
    both = {
        model._meta.db_table
        for app in settings.TENANT_APPS if app in settings.SHARED_APPS
        for model in apps.get_app_config(app.rsplit(".", 1)[-1]).get_models()
    }
    public_tables = _tables_in("public")
    tenant_tables = _tables_in(administration_a.schema_name)
    assert shared_only, "the platform has shared models"
    assert "tenants_administration" in shared_only
    assert "accounts_user" in both
    assert not (tenant_only & public_tables), "tenant tables must not exist in the public schema"
    assert shared_only <= public_tables
    assert not (shared_only & tenant_tables), "platform tables must not exist in tenant schemas"
    assert tenant_only <= tenant_tables
    assert both <= public_tables and both <= tenant_tables


def test_migrations_apply_to_several_tenants_in_one_run(administration_a, administration_b, administration_etat):
    """`migrate_schemas` walks every administration; each one records the same applied migrations."""
    from django.core.management import call_command

    call_command("migrate_schemas", verbosity=0, interactive=False)
    applied = {}
    for administration in (administration_a, administration_b, administration_etat):
        with schema_context(administration.schema_name), connection.cursor() as cursor:
            cursor.execute("SELECT app, name FROM django_migrations")
            applied[administration.slug] = set(cursor.fetchall())
    assert applied["test-a"] == applied["test-b"] == applied["test-etat"]
    assert ("accounts", "0001_initial") in applied["test-a"]
    assert get_tenant_model().objects.filter(schema_name__in=[a.schema_name for a in (
        administration_a, administration_b, administration_etat)]).count() == 3


def test_agent_home_of_a_never_shows_b_users(administration_a, administration_b):
    with tenant_context(administration_b):
        UserFactory(email="seulement-dans-b@exemple.fr")
    with tenant_context(administration_a):
        admin = UserFactory(email="admin-a-liste@exemple.fr", is_administration_admin=True)
    body = login_client(administration_a, admin).get("/agents/").content.decode()
    assert "seulement-dans-b" not in body


@pytest.mark.parametrize("path", ["/console/", "/console/tenants/administration/", "/console/login/"])
def test_console_is_not_reachable_from_an_administration_host(client_a, path):
    assert client_a.get(path).status_code == 404


def test_deleting_an_agent_never_touches_public_rows_of_the_account_sharing_its_id(administration_a, agent_a):
    """Accounts exist in every schema with their own ids: the agent deleted in A may share its id
    with a console account whose impersonation logs, created administrations and admin log entries
    live in public. None of them may be touched."""
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.db.models import Max
    from django.utils import timezone

    from tenants.accounts.models import User
    from tenants.models import ImpersonationLog
    from tests.factories import ConsoleUserFactory

    with tenant_context(administration_a):
        tenant_max = User.objects.aggregate(m=Max("id"))["m"] or 0
    connection.set_schema_to_public()
    shared_id = max(tenant_max, User.objects.aggregate(m=Max("id"))["m"] or 0) + 1000
    console_account = ConsoleUserFactory(id=shared_id, email="jumeau@plateforme.fr")
    with tenant_context(administration_a):
        UserFactory(id=shared_id, email="jumeau@test-a.fr")
    connection.set_schema_to_public()
    log = ImpersonationLog.objects.create(
        support_user=console_account, administration=administration_a, agent_id=agent_a.pk,
        agent_email=agent_a.email, reason="vérification", expires_at=timezone.now(),
    )
    administration_a.created_by = console_account
    administration_a.save(update_fields=["created_by"])
    entry = LogEntry.objects.create(user_id=console_account.pk, action_flag=CHANGE, object_repr="x")

    with tenant_context(administration_a):
        User.objects.get(pk=shared_id).delete()
        assert not User.objects.filter(pk=shared_id).exists()
    connection.set_schema_to_public()
    assert User.objects.filter(pk=shared_id, email="jumeau@plateforme.fr").exists()
    assert ImpersonationLog.objects.get(pk=log.pk).support_user_id == shared_id
    assert type(administration_a).objects.get(pk=administration_a.pk).created_by_id == shared_id
    assert LogEntry.objects.filter(pk=entry.pk).exists()
