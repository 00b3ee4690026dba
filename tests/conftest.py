"""Test infrastructure shared by every test.

- Three administrations are created once per database (kept with --reuse-db): ``administration_a``
  (département), ``administration_b`` (commune) and ``administration_etat`` (service de l'État).
  Their schemas are real; each test runs inside a transaction that is rolled back.
- Personas: anonymous, agent and admin of A, agent of B, operator and support staff (public schema),
  with logged-in clients bound to the right host.
- Never use ``transactional_db``: its flush would empty the public schema. Tests that need committed
  data (a Celery worker thread, the browser tests) commit it explicitly and clean up after themselves.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from tenants import resolution
from tenants.models import Administration
from tests.factories import AdminAgentFactory, ConsoleUserFactory, UserFactory

SESSION_ADMINISTRATIONS = {
    "a": ("test-a", "Département A", Administration.Kind.DEPARTEMENT, "Europe/Paris"),
    "b": ("test-b", "Commune B", Administration.Kind.COMMUNE, "Europe/Paris"),
    "etat": ("test-etat", "Préfecture de test", Administration.Kind.ETAT, "America/Cayenne"),
}


def ensure_administration(slug, name, kind, tz) -> Administration:
    """Create (or reuse) an active administration with a migrated schema, outside any test transaction."""
    from tenants.services import administration_create, administration_provision

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        administration = Administration.objects.filter(slug=slug).first()
        if administration is None:
            administration = administration_create(
                name=name, kind=kind, slug=slug, timezone_name=tz,
                first_admin_email=f"premier-admin@{slug}.fr", provision="sync",
            )
        elif administration.status != Administration.Status.ACTIVE:
            administration.status = Administration.Status.PENDING
            administration.save(update_fields=["status"])
            administration = administration_provision(administration_id=administration.pk)
        assert administration.status == Administration.Status.ACTIVE, administration.status_reason
        return administration


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_keepdb, django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's set-up, for the default database whatever tests were collected.

    pytest-django only creates the test database when a collected test asks for ``db``; the browser
    tests never do (their data must be committed), and alone they would otherwise run against the
    development database. The session administrations are then created (or reused)."""
    import redis
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        db_cfg = setup_databases(
            verbosity=request.config.option.verbose, interactive=False, aliases={"default"},
            keepdb=django_db_keepdb and not django_db_createdb,
        )
        assert connection.settings_dict["NAME"].startswith("test_"), "refusing to run outside a test database"
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
        for spec in SESSION_ADMINISTRATIONS.values():
            ensure_administration(*spec)
        connection.set_schema_to_public()
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            _close_other_sessions()
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)


def _close_other_sessions() -> None:
    """Threads of the session (in-process Celery workers, the live server) may still hold a
    connection to the test database; PostgreSQL refuses to drop a database in use."""
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
    connection.close()


def _get(slug):
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return Administration.objects.get(slug=slug)


@pytest.fixture
def administration_a(db):
    return _get(SESSION_ADMINISTRATIONS["a"][0])


@pytest.fixture
def administration_b(db):
    return _get(SESSION_ADMINISTRATIONS["b"][0])


@pytest.fixture
def administration_etat(db):
    return _get(SESSION_ADMINISTRATIONS["etat"][0])


@pytest.fixture(autouse=True)
def _fresh_request_state():
    """Each test starts in the public schema with an empty hostname cache, and ends there."""
    resolution.clear_cache()
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()
    resolution.clear_cache()


def host_of(administration: Administration | None) -> str:
    return administration.primary_domain if administration else settings.BASE_DOMAIN


def make_client(administration: Administration | None = None) -> Client:
    return Client(HTTP_HOST=host_of(administration))


@pytest.fixture
def platform_client(db) -> Client:
    return make_client(None)


@pytest.fixture
def client_a(administration_a) -> Client:
    return make_client(administration_a)


@pytest.fixture
def client_b(administration_b) -> Client:
    return make_client(administration_b)


def login_client(administration: Administration, user) -> Client:
    """A client on the administration's host with the user's session stored in its schema."""
    client = make_client(administration)
    with tenant_context(administration):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    connection.set_schema_to_public()
    return client


def console_client(user, *, with_mfa: bool = True) -> Client:
    """A client on the platform host signed in to the console, with the second factor recorded."""
    from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY

    client = make_client(None)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        session = client.session
        records = [{"method": "password", "at": time.time(), "email": user.email}]
        if with_mfa:
            records.append({"method": "mfa", "at": time.time(), "type": "totp"})
        session[AUTHENTICATION_METHODS_SESSION_KEY] = records
        # allauth only trusts the records of the user they were written for.
        session["account_authentication_methods_user"] = str(user.pk)
        session.save()
    return client


# --- Personas ------------------------------------------------------------------------------------

@pytest.fixture
def agent_a(administration_a):
    with tenant_context(administration_a):
        return UserFactory(email="agent@test-a.fr")


@pytest.fixture
def admin_a(administration_a):
    with tenant_context(administration_a):
        return AdminAgentFactory(email="admin@test-a.fr")


@pytest.fixture
def agent_b(administration_b):
    with tenant_context(administration_b):
        return UserFactory(email="agent@test-b.fr")


@pytest.fixture
def operator(db):
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return ConsoleUserFactory(email="operateur@plateforme.fr", console_role="operator")


@pytest.fixture
def support(db):
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return ConsoleUserFactory(email="support@plateforme.fr", console_role="support")


@pytest.fixture
def agent_a_client(administration_a, agent_a):
    return login_client(administration_a, agent_a)


@pytest.fixture
def admin_a_client(administration_a, admin_a):
    return login_client(administration_a, admin_a)


@pytest.fixture
def agent_b_client(administration_b, agent_b):
    return login_client(administration_b, agent_b)


@pytest.fixture
def operator_client(operator):
    return console_client(operator)


@pytest.fixture
def support_client(support):
    return console_client(support)


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Provisioning runs migrations, which cannot happen inside the test's transaction: these tests
    commit for real, and the administrations (rows and schemas) whose slugs they list are removed."""
    slugs: list[str] = []
    with django_db_blocker.unblock():
        yield slugs
        connection.set_schema_to_public()
        for administration in Administration.objects.filter(slug__in=slugs):
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{administration.schema_name}" CASCADE')
            administration.delete()


def running_celery_worker(**options):
    """A real Celery worker in a thread, consuming the test queue on the real Redis broker (a context manager)."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    return start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10,
                        queues=[settings.CELERY_TASK_DEFAULT_QUEUE], **options)


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), running_celery_worker() as running:
        yield running
