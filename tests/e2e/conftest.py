"""Browser tests: a live server in a thread, Debian's Chromium through Playwright, axe-core.

- The live server listens on 127.0.0.1 on a free port. Hosts are ``localhost:<port>`` (the platform)
  and ``<slug>.localhost:<port>`` (an administration): Chromium resolves ``*.localhost`` to 127.0.0.1.
  ``SITE_PORT`` is set to that port while each browser test runs, so absolute links (e-mails) point to it.
- The server thread has its own database connections: browser tests see committed data only. They
  never use the ``db`` fixture (its transaction is invisible to the server) nor ``transactional_db``
  (its flush would empty the public schema): ``e2e_db`` opens the database for the test, data is
  committed and whatever a test creates is deleted at its end.
- Never download a browser: Chromium is Debian's, at ``/usr/bin/chromium`` (``CHROMIUM_PATH``).
  Without it, browser tests are skipped locally and fail under CI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.testcases import LiveServerThread
from django.test.utils import override_settings
from django_tenants.utils import schema_context

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS_DIR = Path(settings.BASE_DIR) / "var" / "screenshots"
AXE_SCRIPT = None  # loaded once


# --- Live server ---------------------------------------------------------------------------------

class TenantLiveServerThread(LiveServerThread):
    """Django's live server thread, serving the bare WSGI application: static files come through
    WhiteNoise (as in production) and uploaded files through the tenant-aware view, never through
    the test server's own static and media handlers (which would ignore tenancy)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, static_handler=lambda media_handler: media_handler.application, port=port)


class LiveServer:
    def __init__(self, port: int):
        self.port = port

    @property
    def platform_url(self) -> str:
        return f"http://{settings.BASE_DOMAIN}:{self.port}"

    def host(self, slug: str | None = None) -> str:
        return f"{slug}.{settings.BASE_DOMAIN}:{self.port}" if slug else f"{settings.BASE_DOMAIN}:{self.port}"

    def url(self, path: str = "/", slug: str | None = None) -> str:
        return f"http://{self.host(slug)}{path}"


@pytest.fixture(scope="session")
def live_app(django_db_setup, django_db_blocker):
    """The application served on 127.0.0.1:<free port> for the whole session."""
    thread = TenantLiveServerThread()
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    try:
        yield LiveServer(thread.port)
    finally:
        thread.terminate()


@pytest.fixture(autouse=True)
def _links_point_to_the_live_server(request):
    """While a browser test runs (and only then), absolute links (e-mails) use the live port."""
    if "live_app" not in request.fixturenames:
        yield
        return
    live = request.getfixturevalue("live_app")
    with override_settings(SITE_SCHEME="http", SITE_PORT=str(live.port)):
        yield


@pytest.fixture
def e2e_db(django_db_blocker):
    """Open the database for a browser test: nothing is wrapped in a transaction, data is committed
    (the server thread and the worker see it). Tests delete what they create."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        yield
        connection.set_schema_to_public()


def session_administration(slug: str):
    from tenants.models import Administration

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return Administration.objects.get(slug=slug)


@pytest.fixture
def e2e_administration_a(e2e_db):
    return session_administration("test-a")


@pytest.fixture
def e2e_administration_b(e2e_db):
    return session_administration("test-b")


@pytest.fixture
def e2e_administration_etat(e2e_db):
    return session_administration("test-etat")


def unique_slug(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def delete_administration(slug: str, *, wait_seconds: float = 30) -> None:
    """Drop an administration created by a test: its schema, domains and row (public schema).
    A provisioning still running in the worker is waited for (bounded) so nothing is left behind."""
    import time

    from psycopg import sql

    from tenants import resolution
    from tenants.models import Administration, Domain

    deadline = time.monotonic() + wait_seconds
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        while True:
            administration = Administration.objects.filter(slug=slug).first()
            if administration is None:
                return
            if administration.status != Administration.Status.PENDING or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        schema_name = administration.schema_name
        assert schema_name not in (settings.PUBLIC_SCHEMA_NAME, ""), schema_name
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name)))
        Domain.objects.filter(tenant=administration).delete()
        Administration.objects.filter(pk=administration.pk).delete()  # a queryset delete drops no schema
    resolution.clear_cache()


def delete_public_user(user) -> None:
    """Delete a console account of the public schema and its rows there.

    ``Model.delete()`` would follow every relation to the user model, including those of tenant-only
    apps whose tables do not exist in the public schema: rows are deleted table by table instead,
    where the table exists."""
    from django.db import models

    from tenants.accounts.models import User

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        tables = set(connection.introspection.table_names())
        user.groups.clear()
        user.user_permissions.clear()
        for relation in User._meta.related_objects:
            model = relation.related_model
            if relation.many_to_many or model._meta.db_table not in tables:
                continue
            rows = model._base_manager.filter(**{relation.field.name: user.pk})
            if relation.on_delete is models.SET_NULL:
                rows.update(**{relation.field.name: None})
            else:
                rows._raw_delete(connection.alias)
        User.objects.filter(pk=user.pk)._raw_delete(connection.alias)


# --- In-process Celery worker --------------------------------------------------------------------

@pytest.fixture
def celery_worker(e2e_db):
    """A Celery worker thread consuming the test queue on the test Redis: tasks really go through
    the broker, and run in this process (they share ``mail.outbox`` with the test)."""
    from tests.conftest import running_celery_worker

    with running_celery_worker(loglevel="WARNING") as worker:
        yield worker


# --- Browser -------------------------------------------------------------------------------------

def _chromium_available() -> bool:
    return os.path.exists(CHROMIUM_PATH) or shutil.which(CHROMIUM_PATH) is not None


@pytest.fixture(scope="session")
def browser():
    if not _chromium_available():
        message = f"Debian's Chromium is missing at {CHROMIUM_PATH} (apt-get install chromium)."
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " Browser tests are never skipped in CI.")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in the main thread; Django's guard against ORM
    # calls from async code would then refuse the tests' own (synchronous) database work.
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            monkeypatch.undo()


@pytest.fixture
def page(browser, live_app, e2e_db):
    """A fresh browser context (no cookies) per test; its sessions are deleted afterwards."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        cookies = context.cookies()
        context.close()
        _delete_sessions(cookies)


def _delete_sessions(cookies) -> None:
    from importlib import import_module

    from tenants.models import Administration

    store = import_module(settings.SESSION_ENGINE).SessionStore
    for cookie in cookies:
        if cookie["name"] != settings.SESSION_COOKIE_NAME:
            continue
        host = cookie["domain"].lstrip(".")
        schema = settings.PUBLIC_SCHEMA_NAME
        if host != settings.BASE_DOMAIN:
            slug = host.removesuffix("." + settings.BASE_DOMAIN)
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                administration = Administration.objects.filter(slug=slug).first()
            if administration is None:
                continue
            schema = administration.schema_name
        with contextlib.suppress(Exception), schema_context(schema):
            store(session_key=cookie["value"]).delete()


# --- axe-core ------------------------------------------------------------------------------------

def _axe_source() -> str:
    global AXE_SCRIPT
    if AXE_SCRIPT is None:
        import axe_playwright_python

        AXE_SCRIPT = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
    return AXE_SCRIPT


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"][:8]:
            lines.append(f"    at {', '.join(map(str, node['target']))}")
            lines.append(f"       {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"       {summary[:300]}")
        if len(violation["nodes"]) > 8:
            lines.append(f"    ... and {len(violation['nodes']) - 8} more")
    return "\n".join(lines)


def axe_check(page, *, context: str = "") -> None:
    """Run axe-core (WCAG 2.1 A/AA rules and best practices) on the page; fail on any violation."""
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=_axe_source())
    result = page.evaluate(
        """async () => await window.axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
            resultTypes: ['violations'],
        })"""
    )
    violations = result["violations"]
    if violations:
        where = context or page.url
        report = format_violations(violations)
        pytest.fail(f"axe-core found {len(violations)} violation(s) on {where}:\n{report}", pytrace=False)


def screenshot(page, name: str, *, widths=(1280, 390)) -> list[Path]:
    """Full-page screenshots at desktop and phone widths into var/screenshots/."""
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    paths = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900 if width > 600 else 844})
        path = SCREENSHOTS_DIR / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    if original:
        page.set_viewport_size(original)
    return paths
