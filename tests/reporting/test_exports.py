"""Exports of the appointment list (issue 7, item 2): personas, filters, CSV/XLSX format, formula injection,
the background job with its progress page and download, expiry, purge, tenant isolation."""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from config.celery import app
from messaging.models import Channel, Message, MessageStatus, MessagingSettings, RecipientKind
from messaging.services import from_address
from reporting import exports
from reporting.models import Export
from reporting.tasks import export_run, exports_purge, exports_purge_all
from scheduling import policy
from scheduling.services import Actor, appointment_create, appointment_set_status
from tests.conftest import login_client
from tests.factories import UserFactory
from tests.messaging.test_sending import broker_at, closed_port, purge_test_queue
from tests.scheduling.api_world import TUESDAY, at, build_world
from tests.scheduling.factories import (
    AgentFactory,
    AppointmentTypeFactory,
    CitizenFactory,
    LocationFactory,
    OrganisationFactory,
    ServiceFactory,
)
from tests.scheduling.web.agenda_support import client_for, text
from tests.scheduling.web.test_appointment_list import book

EVERYTHING = {"date_from": ""}


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


@pytest.fixture(autouse=True)
def _exports_root(settings, tmp_path):
    settings.EXPORTS_ROOT = tmp_path / "exports"


def post_export(client, kind="appointments", file_format="csv", **filters):
    data = {"kind": kind, "format": file_format, **(filters or EVERYTHING)}
    return client.post("/agents/rdv/export/", data)


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(b"\xef\xbb\xbf")
    decoded = body.decode("utf-8-sig")
    assert "\r\n" in decoded and "\n" not in decoded.replace("\r\n", "")
    return list(csv.reader(io.StringIO(decoded, newline=""), delimiter=";"))


def numbers(rows) -> set[int]:
    return {int(row[0]) for row in rows[1:]}


def ids(world, *names) -> set[int]:
    return {world.appointments[name].pk for name in names}


# --- Who exports what ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("persona", "visible"), [
    ("basic", ("pmi_appt", "assigned_appt")),
    ("colleague", ("social_appt", "assigned_appt")),
    ("admin", ("pmi_appt", "social_appt", "assigned_appt")),
    ("outsider", ("other_appt",)),
])
def test_each_persona_exports_only_what_the_policy_shows(world, persona, visible):
    response = post_export(client_for(world, persona))
    assert response.status_code == 200
    assert numbers(csv_rows(response)) == ids(world, *visible)
    participations = csv_rows(post_export(client_for(world, persona), kind="participations"))
    assert numbers(participations) == ids(world, *visible)


def test_visitors_and_accounts_without_profile_cannot_export(world):
    response = client_for(world, "anonymous").post("/agents/rdv/export/", {"kind": "appointments", "format": "csv"})
    assert response.status_code == 302 and response["Location"].startswith("/comptes/login/")
    assert client_for(world, "no_profile").get("/agents/rdv/export/").status_code == 403


def test_filters_of_the_list_are_applied(world):
    admin = client_for(world, "admin")
    with tenant_context(world.administration):
        appointment_set_status(appointment=world.appointments["pmi_appt"], status="seen",
                               actor=Actor.for_agent(world.agents["basic"]))
    assert numbers(csv_rows(post_export(admin, status="seen", date_from=""))) == ids(world, "pmi_appt")
    assert numbers(csv_rows(post_export(admin, agent=world.agents["basic"].pk, date_from=""))) == ids(
        world, "pmi_appt", "assigned_appt")
    assert numbers(csv_rows(post_export(admin, appointment_type=world.social_type.pk, date_from=""))) == ids(
        world, "social_appt", "assigned_appt")
    day = TUESDAY.isoformat()
    assert numbers(csv_rows(post_export(admin, date_from=day, date_to=day))) == ids(
        world, "pmi_appt", "social_appt", "assigned_appt")
    after = (TUESDAY + timedelta(days=1)).isoformat()
    assert numbers(csv_rows(post_export(admin, date_from=after))) == set()


def test_bad_filters_give_french_errors_and_export_nothing(world):
    admin = client_for(world, "admin")
    response = post_export(admin, date_from="2026-05-01", date_to="2026-04-01")
    assert response.status_code == 400
    assert "La date de fin doit être après la date de début." in text(response)
    response = post_export(admin, organisation=world.other_org.pk, date_from="")
    assert response.status_code == 400
    assert "Cette organisation n'existe pas ou ne vous est pas visible." in text(response)
    response = admin.get("/agents/rdv/export/", {"date_from": "31/02/2026"})
    assert response.status_code == 400 and "Saisissez une date valide" in text(response)
    assert "<button" not in response.content.decode().split("<main", 1)[1].split("</main>")[0]
    response = post_export(admin, kind="usagers")
    assert response.status_code == 400 and "Choisissez rendez-vous ou participations." in text(response)
    response = post_export(admin, file_format="pdf")
    assert response.status_code == 400 and "CSV ou Excel" in text(response)
    with tenant_context(world.administration):
        assert not Export.objects.exists()


def test_the_list_links_to_the_export_with_its_filters(world):
    response = client_for(world, "basic").get("/agents/rdv/", {"status": "seen", "date_from": ""})
    assert 'href="/agents/rdv/export/?status=seen&amp;date_from="' in response.content.decode()
    page = client_for(world, "basic").get("/agents/rdv/export/", {"status": "seen", "date_from": ""})
    assert page.status_code == 200
    body = text(page)
    assert "Statut : Honoré" in body and 'name="status" value="seen"' in body


# --- The CSV ---------------------------------------------------------------------------------------------

def test_csv_is_what_excel_in_french_expects(world):
    with tenant_context(world.administration):
        appointment = world.appointments["pmi_appt"]
        participation = appointment.participations.get()
        Message.objects.create(channel=Channel.EMAIL, recipient="x@exemple.fr", recipient_kind=RecipientKind.CITIZEN,
                               kind="booked", appointment=appointment, participation=participation,
                               status=MessageStatus.SENT, idempotency_key="test-export-1")
        Message.objects.create(channel=Channel.SMS, recipient="+33612345678", recipient_kind=RecipientKind.CITIZEN,
                               kind="booked", appointment=appointment, participation=participation,
                               status=MessageStatus.FAILED, idempotency_key="test-export-2")
        citizen = world.citizen
        citizen.phone = "+33612345678"
        citizen.save(update_fields=["phone"])
    response = post_export(client_for(world, "basic"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="rdv-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"])
    rows = csv_rows(response)
    assert rows[0] == exports.headers("appointments")
    assert rows[0][:4] == ["N° RDV", "Date", "Heure", "Durée (min)"]
    row = next(row for row in rows[1:] if int(row[0]) == appointment.pk)
    cells = dict(zip(rows[0], row, strict=True))
    assert cells["Date"] == TUESDAY.strftime("%d/%m/%Y")
    assert cells["Heure"] == "09:00"  # the organisation's local time, not UTC
    assert cells["Motif"] == "Consultation PMI" and cells["Service"] == "PMI" and cells["Lieu"] == "Centre"
    assert cells["Modalité"] == "Sur place" and cells["Organisation"] == "MDS Centre"
    assert cells["Agents"] == str(world.agents["basic"])
    assert cells["Usagers"] == str(world.citizen)
    assert cells["E-mail des usagers"] == world.citizen.email
    assert cells["Téléphone des usagers"] == "06 12 34 56 78"
    assert cells["Statut"] == "À venir / à renseigner" and cells["Origine"] == "Agent"
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", cells["Créé le"]) and cells["Annulé le"] == ""
    assert cells["Notifications"] == "E-mail : envoyé, SMS : échec"
    assert int(cells["Durée (min)"]) > 0


def test_participations_export_has_one_row_per_usager(world):
    with tenant_context(world.administration):
        appointment_set_status(appointment=world.appointments["social_appt"], status="noshow",
                               actor=Actor.for_agent(world.agents["colleague"]))
    response = post_export(client_for(world, "admin"), kind="participations")
    assert re.fullmatch(r'attachment; filename="participations-[\d-]+\.csv"', response["Content-Disposition"])
    rows = csv_rows(response)
    assert rows[0] == exports.headers("participations")
    assert len(rows) == 4
    row = dict(zip(rows[0], next(r for r in rows[1:] if int(r[0]) == world.appointments["social_appt"].pk),
                   strict=True))
    assert row["Usager"] == str(world.citizen) and row["E-mail"] == world.citizen.email
    assert row["Statut de la participation"] == "Absence non excusée"
    assert row["Statut du RDV"] == "Absence non excusée"


def test_formula_injection_is_neutralised(world):
    with tenant_context(world.administration):
        citizen = world.citizen
        citizen.first_name, citizen.last_name = "=HYPERLINK(\"http://x\")", "@SUM(A1)"
        citizen.save(update_fields=["first_name", "last_name"])
        kind = world.pmi_type
        kind.name = "+cmd|' /C calc'!A0"
        kind.save(update_fields=["name"])
    rows = csv_rows(post_export(client_for(world, "basic"), kind="participations"))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Usager"].startswith("'=HYPERLINK")
    motifs = {dict(zip(rows[0], r, strict=True))["Motif"] for r in rows[1:]}
    assert "'+cmd|' /C calc'!A0" in motifs
    assert exports.neutralise("-2+3") == "'-2+3" and exports.neutralise("Dupont") == "Dupont"
    sheet = xlsx_cells(post_export(client_for(world, "basic"), kind="participations", file_format="xlsx").content)
    strings = {value for _, value in sheet}
    assert any(value.startswith("'=HYPERLINK") for value in strings)
    assert "<f>" not in xlsx_sheet_xml(
        post_export(client_for(world, "basic"), kind="participations", file_format="xlsx").content)


def test_contacts_only_of_usagers_the_agent_may_see(world):
    """A usager deleted (anonymised) or not linked to the agent's organisations keeps his name, not his contact."""
    with tenant_context(world.administration):
        citizen = world.citizen
        citizen.organisations.clear()
    rows = csv_rows(post_export(client_for(world, "basic")))
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert cells["Usagers"] == str(world.citizen) and cells["E-mail des usagers"] == ""
    rows = csv_rows(post_export(client_for(world, "basic"), kind="participations"))
    assert dict(zip(rows[0], rows[1], strict=True))["E-mail"] == ""


def test_streamed_export_runs_a_constant_number_of_queries(world):
    def run():
        with tenant_context(world.administration), CaptureQueriesContext(connection) as captured:
            scope = policy.scope_for_agent(world.agents["admin"])
            buffer = io.BytesIO()
            count = exports.write_csv(exports.export_rows(scope, EVERYTHING, "appointments"), buffer)
        return count, len(captured.captured_queries)

    few_rows, few_queries = run()
    for hour in (14, 15, 16):
        book(world, world.agents["admin"], at(hour, day=TUESDAY))
    more_rows, more_queries = run()
    assert more_rows == few_rows + 3 and more_queries == few_queries


# --- The XLSX --------------------------------------------------------------------------------------------

def xlsx_sheet_xml(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode()


def xlsx_cells(content: bytes) -> list[tuple[str, str]]:
    """(reference, value) of every cell: shared or inline strings resolved, numbers as written."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        shared = []
        if "xl/sharedStrings.xml" in names:
            shared = re.findall(r"<t[^>]*>(.*?)</t>", archive.read("xl/sharedStrings.xml").decode(), re.S)
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    cells = []
    for reference, attributes, inner in re.findall(r'<c r="([A-Z]+\d+)"([^>]*)>(.*?)</c>', sheet, re.S):
        if 't="s"' in attributes:
            value = shared[int(re.search(r"<v>(.*?)</v>", inner).group(1))]
        elif 't="inlineStr"' in attributes:
            value = re.search(r"<t[^>]*>(.*?)</t>", inner, re.S).group(1)
        else:
            value = re.search(r"<v>(.*?)</v>", inner).group(1)
        cells.append((reference, value.replace("&apos;", "'").replace("&quot;", '"').replace("&amp;", "&")))
    return cells


def test_xlsx_opens_with_real_dates(world):
    response = post_export(client_for(world, "basic"), file_format="xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert re.fullmatch(r'attachment; filename="rdv-[\d-]+\.xlsx"', response["Content-Disposition"])
    cells = dict(xlsx_cells(response.content))
    assert [cells[f"{column}1"] for column in "ABCD"] == ["N° RDV", "Date", "Heure", "Durée (min)"]
    assert {int(cells["A2"]), int(cells["A3"])} == ids(world, "pmi_appt", "assigned_appt")
    serial = float(cells["B2"])  # a date cell is a number (days since 1899-12-30), not text
    assert serial == (TUESDAY - date(1899, 12, 30)).days
    assert float(cells["C2"]) == pytest.approx(9 / 24)


# --- The background job ------------------------------------------------------------------------------------

def run_job(world, export: Export) -> Export:
    with tenant_context(world.administration):
        export_run.apply(args=[export.pk])
        export.refresh_from_db()
    return export


def test_large_export_runs_in_the_background_with_progress_and_download(world, settings):
    settings.EXPORT_STREAM_MAX_ROWS = 1
    admin = client_for(world, "admin")
    response = post_export(admin)
    assert response.status_code == 302
    with tenant_context(world.administration):
        export = Export.objects.get()
    assert response["Location"] == f"/agents/exports/{export.uuid}/"
    assert export.agent == world.agents["admin"] and export.state == "pending" and export.total_rows == 3
    assert export.filters == {}  # "date_from=" empty: every date, like the list
    page = admin.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200 and "<progress" in body and 'aria-live="polite"' in body
    assert 'hx-trigger="every 2s"' in body and "htmx-2.min.js" in body
    assert admin.get(f"/agents/exports/{export.uuid}/telecharger/").status_code == 409

    export = run_job(world, export)
    assert export.state == "done" and export.written_rows == 3 and export.expires_at > timezone.now()
    path = Path(settings.EXPORTS_ROOT) / world.administration.schema_name / f"{export.uuid}.csv"
    assert path.exists() and not str(path).startswith(str(settings.MEDIA_ROOT))
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [world.agents["admin"].user.email]
    assert f"/agents/exports/{export.uuid}/" in mail.outbox[0].body
    with tenant_context(world.administration):  # the administration's sender, as every message it sends
        assert mail.outbox[0].from_email == from_address(MessagingSettings.load())

    fragment = admin.get(f"/agents/exports/{export.uuid}/", HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.content.decode() and "Votre fichier est prêt : 3 lignes." in text(fragment)
    assert "hx-trigger" not in fragment.content.decode()
    download = admin.get(f"/agents/exports/{export.uuid}/telecharger/")
    assert download.status_code == 200
    assert re.fullmatch(r'attachment; filename="rdv-[\d-]+\.csv"', download["Content-Disposition"])
    rows = csv_rows(download)
    assert numbers(rows) == ids(world, "pmi_appt", "social_appt", "assigned_appt")
    listing = text(admin.get("/agents/exports/"))
    assert "Rendez-vous" in listing and "Télécharger" in listing

    # Another agent, even an admin of the same organisation, gets a 404.
    for persona in ("basic", "secretary"):
        assert client_for(world, persona).get(f"/agents/exports/{export.uuid}/telecharger/").status_code == 404
        assert client_for(world, persona).get(f"/agents/exports/{export.uuid}/").status_code == 404
        assert "Télécharger" not in text(client_for(world, persona).get("/agents/exports/"))

    # A run delivered twice does nothing more.
    assert run_job(world, export).state == "done" and len(mail.outbox) == 1


def test_xlsx_job_updates_progress_and_writes_a_workbook(world, settings):
    settings.EXPORT_STREAM_MAX_ROWS = 0
    with tenant_context(world.administration):
        scope = policy.scope_for_agent(world.agents["admin"])
        from reporting.services import export_start

        export = export_start(scope=scope, kind="participations", file_format="xlsx", filters=EVERYTHING)
    export = run_job(world, export)
    assert export.state == "done" and export.written_rows == 3
    download = client_for(world, "admin").get(f"/agents/exports/{export.uuid}/telecharger/")
    content = b"".join(download.streaming_content)
    cells = dict(xlsx_cells(content))
    assert cells["K1"] == "Usager" and cells["A4"]


def test_expired_export_says_so_in_french_and_the_purge_removes_it(world, settings):
    settings.EXPORT_STREAM_MAX_ROWS = 0
    admin = client_for(world, "admin")
    post_export(admin)
    with tenant_context(world.administration):
        export = Export.objects.get()
    export = run_job(world, export)
    path = Path(settings.EXPORTS_ROOT) / world.administration.schema_name / export.file_name
    assert path.exists()
    with tenant_context(world.administration):
        Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = admin.get(f"/agents/exports/{export.uuid}/telecharger/")
    assert response.status_code == 410 and "Ce fichier a expiré" in text(response)
    assert "Ce fichier a expiré" in text(admin.get(f"/agents/exports/{export.uuid}/"))
    with tenant_context(world.administration):
        assert exports_purge.apply().get() == 1
        export.refresh_from_db()
        assert exports_purge.apply().get() == 0
    assert export.state == "expired" and export.file_name == "" and not path.exists()
    response = admin.get(f"/agents/exports/{export.uuid}/telecharger/")
    assert response.status_code == 410 and "Ce fichier a expiré" in text(response)


def test_the_purge_removes_what_an_abandoned_job_left(world, settings):
    settings.EXPORT_STREAM_MAX_ROWS = 0
    post_export(client_for(world, "admin"))
    directory = Path(settings.EXPORTS_ROOT) / world.administration.schema_name
    directory.mkdir(parents=True)
    with tenant_context(world.administration):
        export = Export.objects.get()
        assert export.expires_at >= timezone.now() + timedelta(hours=23)  # a lost job is given up after a day
        Export.objects.filter(pk=export.pk).update(state="running", written_rows=1000)
        partial = directory / f"{export.uuid}.csv.partial"
        partial.write_bytes(b"...")
        assert exports_purge.apply().get() == 0 and partial.exists()
        Export.objects.filter(pk=export.pk).update(expires_at=timezone.now())
        assert exports_purge.apply().get() == 1
        export.refresh_from_db()
    assert export.state == "expired" and not partial.exists()


def test_a_job_whose_filters_became_invalid_fails_with_a_french_message(world, settings):
    settings.EXPORT_STREAM_MAX_ROWS = 0
    admin = client_for(world, "admin")
    post_export(admin, location=world.location.pk, date_from="")
    with tenant_context(world.administration):
        export = Export.objects.get()
        Export.objects.filter(pk=export.pk).update(filters={"location": "999999"})
    export = run_job(world, export)
    assert export.state == "failed" and "Ce lieu n'existe pas" in export.error
    assert not list((Path(settings.EXPORTS_ROOT) / world.administration.schema_name).iterdir())
    page = admin.get(f"/agents/exports/{export.uuid}/")
    assert "Ce lieu n'existe pas" in text(page)
    assert admin.get(f"/agents/exports/{export.uuid}/telecharger/").status_code == 409


def test_the_job_is_sent_to_the_broker_in_the_administrations_schema(world, settings,
                                                                      django_capture_on_commit_callbacks):
    settings.EXPORT_STREAM_MAX_ROWS = 0
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post_export(client_for(world, "admin"))
        with app.connection_for_read() as broker:
            queued = broker.SimpleQueue(app.conf.task_default_queue, no_ack=True).get(timeout=5)
        assert queued.headers["task"] == "reporting.export_run"
        assert queued.headers["_schema_name"] == world.administration.schema_name
    finally:
        purge_test_queue()


def test_broker_down_the_job_fails_at_once_with_a_french_message(world, settings, django_capture_on_commit_callbacks):
    settings.EXPORT_STREAM_MAX_ROWS = 0
    admin = client_for(world, "admin")
    with broker_at(f"redis://127.0.0.1:{closed_port()}/0"), django_capture_on_commit_callbacks(execute=True):
        response = post_export(admin)
    assert response.status_code == 302
    page = text(admin.get(response["Location"]))
    assert "momentanément indisponible" in page


def test_the_hourly_purge_fans_out_over_active_administrations(db):
    try:
        with schema_context("public"):
            assert exports_purge_all.apply().get() >= 3
    finally:
        purge_test_queue()


def test_tasks_refuse_the_public_schema():
    from tenants.tasks import TaskSentWithoutAdministration

    with pytest.raises(TaskSentWithoutAdministration):
        exports_purge.apply(throw=True).get()


# --- Tenant isolation ----------------------------------------------------------------------------------------

def test_an_administration_never_sees_another_ones_exports(world, administration_b, settings):
    settings.EXPORT_STREAM_MAX_ROWS = 0
    post_export(client_for(world, "admin"))
    with tenant_context(world.administration):
        export = Export.objects.get()
    run_job(world, export)
    with tenant_context(administration_b):
        user = UserFactory(email="export-b@test-b.fr")
        AgentFactory(user=user, organisation=OrganisationFactory(name="Mairie B"), organisation__level="admin")
        assert not Export.objects.exists()
    client_b = login_client(administration_b, user)
    assert client_b.get(f"/agents/exports/{export.uuid}/").status_code == 404
    assert client_b.get(f"/agents/exports/{export.uuid}/telecharger/").status_code == 404
    settings.EXPORT_STREAM_MAX_ROWS = 5000
    assert numbers(csv_rows(post_export(client_b))) == set()
    assert client_b.get(f"/agents/exports/{uuid.uuid4()}/").status_code == 404
    assert sorted(path.name for path in Path(settings.EXPORTS_ROOT).iterdir()) == [world.administration.schema_name]


def test_times_are_those_of_each_organisations_time_zone(world):
    reunion = ZoneInfo("Indian/Reunion")
    with tenant_context(world.administration):
        organisation = OrganisationFactory(name="MDS Saint-Denis", timezone="Indian/Reunion")
        user = UserFactory(email="export-reunion@test-a.fr")
        agent = AgentFactory(user=user, organisation=organisation, organisation__level="admin")
        kind = AppointmentTypeFactory(organisation=organisation, service=ServiceFactory(), name="Accueil")
        appointment = appointment_create(
            appointment_type=kind, starts_at=datetime(TUESDAY.year, TUESDAY.month, TUESDAY.day, 8, 30, tzinfo=reunion),
            agents=[agent], citizens=[CitizenFactory()], actor=Actor.for_agent(agent),
            location=LocationFactory(organisation=organisation), accept_warnings=True,
        )
    rows = csv_rows(post_export(login_client(world.administration, user)))
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert int(cells["N° RDV"]) == appointment.pk
    assert cells["Date"] == TUESDAY.strftime("%d/%m/%Y") and cells["Heure"] == "08:30"


def test_an_appointment_with_several_usagers_lists_each_one(world):
    with tenant_context(world.administration):
        first = CitizenFactory(first_name="Anne", last_name="Martin", email="anne@exemple.fr", phone="")
        second = CitizenFactory(first_name="Paul", last_name="Martin", email="", phone="+262692123456")
        appointment = appointment_create(
            appointment_type=world.pmi_type, starts_at=at(15, day=TUESDAY), agents=[world.agents["basic"]],
            citizens=[first, second], actor=Actor.for_agent(world.agents["basic"]), location=world.location,
            accept_warnings=True,
        )
    rows = csv_rows(post_export(client_for(world, "basic")))
    cells = dict(zip(rows[0], next(row for row in rows[1:] if int(row[0]) == appointment.pk), strict=True))
    assert cells["Usagers"] == "Anne Martin, Paul Martin"
    assert cells["E-mail des usagers"] == "anne@exemple.fr"
    assert cells["Téléphone des usagers"] == "'+262692123456"  # E.164 outside metropolitan France, guarded
    participations = csv_rows(post_export(client_for(world, "basic"), kind="participations"))
    mine = [dict(zip(participations[0], row, strict=True))
            for row in participations[1:] if int(row[0]) == appointment.pk]
    assert [(row["Usager"], row["E-mail"]) for row in mine] == [("Anne Martin", "anne@exemple.fr"), ("Paul Martin", "")]


def test_a_running_job_shows_the_rows_written_so_far(world, settings):
    """The job reads its rows inside a transaction (a plain server-side cursor, first rows at once), so its
    running count goes through Redis: the progress page shows it before the job commits."""
    from django.core.cache import cache

    from reporting import services

    settings.EXPORT_STREAM_MAX_ROWS = 0
    client = client_for(world, "admin")
    post_export(client)
    with tenant_context(world.administration):
        export = Export.objects.get()
        Export.objects.filter(pk=export.pk).update(state="running", total_rows=3000, written_rows=0)
        cache.set(services.progress_key(export), 2000)
    page = client.get(f"/agents/exports/{export.uuid}/", headers={"HX-Request": "true"})
    assert page.status_code == 200 and "2000 lignes sur 3000" in page.content.decode()
