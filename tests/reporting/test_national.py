"""National public statistics: the nightly job sums anonymous counts per month and kind of administration
into the public schema; the public page on the platform host reads only that, cached, without personal data."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from messaging.models import Channel, Message, MessageStatus, RecipientKind
from reporting.national import CACHE_KEY, compute_national_figures, national_figures_compute
from scheduling.models import Appointment, Participation, Status
from tenants.models import Administration, NationalFigure
from tests.conftest import make_client
from tests.scheduling.factories import AppointmentTypeFactory, CitizenFactory

# The job's clock: mid-June 2026, so the window runs from July 2024 to June 2026.
AT = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
MAY, JUNE = date(2026, 5, 1), date(2026, 6, 1)
PERSONAL = ("Zébulon", "Trucmuche-Oxford", "zebulon.trucmuche@exemple-unique.fr", "+33699887766", "0699887766")
TENANT_TABLE_PREFIXES = ("scheduling_", "messaging_", "public_booking_", "reporting_", "retention_")
_keys = count()


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.delete(CACHE_KEY)
    yield
    cache.delete(CACHE_KEY)


def add_appointment(appointment_type, starts_at, status=Status.SEEN, created_by=Appointment.CreatedBy.AGENT,
                    citizen=None):
    appointment = Appointment.objects.create(
        organisation=appointment_type.organisation, appointment_type=appointment_type, starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30), status=status, created_by=created_by,
    )
    if citizen:
        Participation.objects.create(appointment=appointment, citizen=citizen, status=status)
    return appointment


def add_message(channel, status=MessageStatus.SENT, sent_at=None, segments=None, citizen=None):
    return Message.objects.create(
        channel=channel, status=status, sent_at=sent_at, sms_segments=segments, citizen=citizen,
        recipient=(citizen.email if channel == Channel.EMAIL else citizen.phone) if citizen else "x@exemple.fr",
        recipient_kind=RecipientKind.CITIZEN, kind="reminder", subject=f"Rappel pour {PERSONAL[0]}",
        body=f"Bonjour {PERSONAL[0]} {PERSONAL[1]}", idempotency_key=f"national-{next(_keys)}",
    )


@pytest.fixture
def national_world(administration_a, administration_b, administration_etat):
    """A (département, Paris), B (commune, Paris) and the État service (Cayenne, UTC-3), with a usager
    whose name, e-mail and phone must never reach the public page."""
    with tenant_context(administration_a):
        kind = AppointmentTypeFactory()
        citizen = CitizenFactory(first_name=PERSONAL[0], last_name=PERSONAL[1], email=PERSONAL[2], phone=PERSONAL[3])
        add_appointment(kind, datetime(2026, 5, 4, 8, tzinfo=UTC), Status.SEEN, citizen=citizen)
        add_appointment(kind, datetime(2026, 5, 5, 8, tzinfo=UTC), Status.NOSHOW, citizen=citizen)
        add_appointment(kind, datetime(2026, 5, 6, 8, tzinfo=UTC), Status.EXCUSED,
                        created_by=Appointment.CreatedBy.CITIZEN, citizen=citizen)
        add_appointment(kind, datetime(2026, 6, 20, 8, tzinfo=UTC), Status.UNKNOWN,
                        created_by=Appointment.CreatedBy.CITIZEN, citizen=citizen)
        # 31 May 23:30 in Paris (21:30 UTC): May there.
        add_appointment(kind, datetime(2026, 5, 31, 21, 30, tzinfo=UTC), Status.REVOKED)
        # Outside the window: next month and three years ago.
        add_appointment(kind, datetime(2026, 7, 2, 8, tzinfo=UTC))
        add_appointment(kind, datetime(2023, 5, 2, 8, tzinfo=UTC))
        add_message(Channel.EMAIL, sent_at=datetime(2026, 5, 3, 8, tzinfo=UTC), citizen=citizen)
        add_message(Channel.SMS, MessageStatus.DELIVERED, datetime(2026, 5, 3, 8, tzinfo=UTC), 2, citizen)
        add_message(Channel.SMS, sent_at=datetime(2026, 6, 1, 8, tzinfo=UTC), citizen=citizen)  # segments unknown: 1
        add_message(Channel.SMS, MessageStatus.FAILED, citizen=citizen)  # not sent
        add_message(Channel.EMAIL, MessageStatus.PENDING, citizen=citizen)  # not yet
        add_message(Channel.WEBHOOK, sent_at=datetime(2026, 5, 3, 8, tzinfo=UTC))  # not a message to a person
    with tenant_context(administration_b):
        kind = AppointmentTypeFactory()
        add_appointment(kind, datetime(2026, 5, 10, 8, tzinfo=UTC), Status.SEEN)
        add_appointment(kind, datetime(2026, 5, 11, 8, tzinfo=UTC), Status.SEEN,
                        created_by=Appointment.CreatedBy.CITIZEN)
        add_message(Channel.EMAIL, sent_at=datetime(2026, 5, 10, 8, tzinfo=UTC))
    with tenant_context(administration_etat):
        kind = AppointmentTypeFactory()
        # 1 June 01:00 UTC is 31 May 22:00 in Cayenne: May for this administration.
        add_appointment(kind, datetime(2026, 6, 1, 1, tzinfo=UTC), Status.NOSHOW)
    connection.set_schema_to_public()
    return {"a": administration_a, "b": administration_b, "etat": administration_etat}


def figures() -> dict:
    return {(figure.month, figure.administration_kind): figure for figure in NationalFigure.objects.all()}


def test_figures_are_summed_per_kind_and_month_in_each_administrations_time_zone(national_world):
    result = compute_national_figures(at=AT)

    assert result["failed"] == [] and result["administrations"] == 3
    rows = figures()
    assert set(rows) == {(MAY, "departement"), (JUNE, "departement"), (MAY, "commune"), (MAY, "etat")}
    may_a = rows[(MAY, "departement")]
    assert (may_a.appointments, may_a.honoured, may_a.no_show, may_a.excused, may_a.revoked, may_a.unknown) == (
        4, 1, 1, 1, 1, 0)
    assert may_a.booked_online == 1 and may_a.administrations == 1
    assert (may_a.emails_sent, may_a.sms_sent, may_a.sms_segments) == (1, 1, 2)
    june_a = rows[(JUNE, "departement")]
    assert (june_a.appointments, june_a.unknown, june_a.booked_online) == (1, 1, 1)
    assert (june_a.emails_sent, june_a.sms_sent, june_a.sms_segments) == (0, 1, 1)
    may_b = rows[(MAY, "commune")]
    assert (may_b.appointments, may_b.honoured, may_b.booked_online, may_b.emails_sent) == (2, 2, 1, 1)
    may_etat = rows[(MAY, "etat")]
    assert (may_etat.appointments, may_etat.no_show) == (1, 1)


def test_two_administrations_of_the_same_kind_are_added_up(national_world, administration_b):
    """The État service is counted as a second département for this test: one row, sums of both."""
    Administration.objects.filter(pk=national_world["etat"].pk).update(kind=Administration.Kind.DEPARTEMENT)

    compute_national_figures(at=AT)

    may = figures()[(MAY, "departement")]
    assert (may.appointments, may.no_show, may.administrations) == (5, 2, 2)


def test_rerun_is_idempotent_and_drops_figures_without_data(national_world):
    compute_national_figures(at=AT)
    first = {key: (f.appointments, f.honoured, f.sms_segments) for key, f in figures().items()}

    result = compute_national_figures(at=AT)

    assert {key: (f.appointments, f.honoured, f.sms_segments) for key, f in figures().items()} == first
    assert result["deleted"] == 0 and NationalFigure.objects.count() == 4

    with tenant_context(national_world["b"]):
        Appointment.objects.all().delete()
        Message.objects.all().delete()
    connection.set_schema_to_public()
    compute_national_figures(at=AT)
    assert (MAY, "commune") not in figures() and NationalFigure.objects.count() == 3

    # A year later, May and June 2026 are still in the window; three years later nothing is.
    compute_national_figures(at=AT.replace(year=2029))
    assert NationalFigure.objects.count() == 0


def test_a_broken_schema_does_not_stop_the_others_and_its_kind_keeps_the_last_figures(national_world, caplog):
    compute_national_figures(at=AT)
    # A commune whose schema is gone (dropped by hand, failed restore...), and new data in A and B.
    Administration.objects.create(
        name="Commune sans schéma", kind=Administration.Kind.COMMUNE, slug="sans-schema",
        schema_name="national_missing_schema", status=Administration.Status.ACTIVE,
        first_admin_email="admin@sans-schema.fr",
    )
    for administration in (national_world["a"], national_world["b"]):
        with tenant_context(administration):
            add_appointment(AppointmentTypeFactory(), datetime(2026, 5, 20, 8, tzinfo=UTC))
    connection.set_schema_to_public()

    result = compute_national_figures(at=AT)

    assert result["failed"] == ["sans-schema"] and result["administrations"] == 3
    assert "national_missing_schema" in caplog.text
    rows = figures()
    assert set(rows) == {(MAY, "departement"), (JUNE, "departement"), (MAY, "commune"), (MAY, "etat")}
    assert rows[(MAY, "departement")].appointments == 5  # read again
    assert rows[(MAY, "commune")].appointments == 2  # kept as the last complete run wrote it, not understated


def test_the_task_runs_in_the_public_schema_and_the_command_by_hand(national_world):
    with tenant_context(national_world["a"]):
        kind = AppointmentTypeFactory()
        add_appointment(kind, datetime.now(UTC))
    connection.set_schema_to_public()

    national_figures_compute.apply().get()
    assert NationalFigure.objects.filter(administration_kind="departement").exists()

    NationalFigure.objects.all().delete()
    out = io.StringIO()
    call_command("compute_national_figures", stdout=out)
    assert "3 administration(s) lue(s)" in out.getvalue()
    assert NationalFigure.objects.filter(administration_kind="departement").exists()


def test_the_public_page_shows_the_figures_and_no_personal_data(national_world, platform_client):
    compute_national_figures(at=AT)

    response = platform_client.get("/statistiques/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Statistiques nationales" in html and "Dernière mise à jour le" in html
    assert "mai 2026" in html and "juin 2026" in html
    # Administrations by kind, now: A, B and the État service.
    assert re.search(r"Département</th><td>1</td>", html) and re.search(r"Commune</th><td>1</td>", html)
    # May: 4 + 2 + 1 appointments; no-show rate: 2 absences / (3 honoured + 2 absences) = 40 %.
    assert "<td>7</td>" in html and "40,0 %" in html
    assert "absences non excusées ÷ (rendez-vous honorés + absences non excusées)" in html
    # Charts are SVG images with a title, each followed by a table of its numbers.
    assert html.count('role="img"') == 5 and "<title id=\"national-no-show-title\">" in html
    for value in PERSONAL:
        assert value not in html

    csv = platform_client.get("/statistiques/donnees.csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    body = csv.content.decode("utf-8")
    assert body.startswith("\ufeffmois;type d'administration;administrations actives;rendez-vous;")
    assert "2026-05;Département;1;4;1;1;1;1;0;1;1;1;2\r\n" in body
    assert "2026-05;Commune;1;2;2;0;0;0;0;1;1;0;0\r\n" in body
    for value in PERSONAL:
        assert value not in body


def test_the_page_reads_only_the_public_schema_then_the_cache(national_world, platform_client):
    compute_national_figures(at=AT)
    schemas = [administration.schema_name for administration in national_world.values()]

    with CaptureQueriesContext(connection) as queries:
        assert platform_client.get("/statistiques/").status_code == 200
    sql = [query["sql"] for query in queries.captured_queries]
    assert any("tenants_nationalfigure" in statement for statement in sql)
    for statement in sql:
        assert not any(schema in statement for schema in schemas), statement
        assert not any(prefix in statement for prefix in TENANT_TABLE_PREFIXES), statement
        if "search_path" in statement.lower():
            assert "public" in statement and "test_" not in statement, statement

    with CaptureQueriesContext(connection) as queries:
        assert platform_client.get("/statistiques/").status_code == 200
        assert platform_client.get("/statistiques/donnees.csv").status_code == 200
    assert queries.captured_queries == []


def test_the_job_refreshes_the_cached_page(national_world, platform_client):
    compute_national_figures(at=AT)
    assert "<td>7</td>" in platform_client.get("/statistiques/").content.decode()

    with tenant_context(national_world["b"]):
        add_appointment(AppointmentTypeFactory(), datetime(2026, 5, 12, 8, tzinfo=UTC))
    connection.set_schema_to_public()
    assert "<td>7</td>" in platform_client.get("/statistiques/").content.decode()  # cached

    compute_national_figures(at=AT)
    assert "<td>8</td>" in platform_client.get("/statistiques/").content.decode()


def test_empty_state_before_the_first_computation(platform_client):
    response = platform_client.get("/statistiques/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Les statistiques seront disponibles après le premier calcul nocturne." in html
    assert "Dernière mise à jour" not in html
    csv = platform_client.get("/statistiques/donnees.csv").content.decode("utf-8")
    assert csv.count("\r\n") == 1


def test_platform_home_links_to_the_page_which_is_not_served_on_an_administrations_host(
    platform_client, administration_a
):
    assert 'href="/statistiques/"' in platform_client.get("/").content.decode()

    assert make_client(administration_a).get("/statistiques/").status_code == 404
    assert make_client(administration_a).get("/statistiques/donnees.csv").status_code == 404


def test_writes_are_refused(platform_client):
    assert platform_client.post("/statistiques/").status_code == 405


def test_the_nightly_beat_entry_names_a_task_the_worker_registers():
    """In a fresh process, as a worker starts: autodiscovery loads reporting.tasks, which imports this module."""
    import subprocess
    import sys

    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["national-figures"]
    assert entry["task"] == "reporting.national_figures_compute"
    assert entry["schedule"].hour == {3}
    code = ("import django; django.setup(); from config.celery import app; app.loader.import_default_modules(); "
            f"print({entry['task']!r} in app.tasks)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=settings.BASE_DIR)
    assert result.stdout.strip() == "True", result.stderr


def test_the_task_refuses_to_run_in_an_administrations_schema(administration_a):
    from tenants.tasks import TaskSentFromAdministration

    with tenant_context(administration_a), pytest.raises(TaskSentFromAdministration):
        national_figures_compute.apply().get()
