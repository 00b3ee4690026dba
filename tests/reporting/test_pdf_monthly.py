"""The monthly activity report of an organisation (PDF): download by its admins, e-mail at the start of each month."""

from __future__ import annotations

import base64
import html
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from messaging.models import Channel, Kind, Message, MessageStatus, RecipientKind
from reporting import documents, tasks_pdf
from scheduling.models import Appointment, AppointmentType, Organisation
from tests.conftest import login_client
from tests.reporting.pdf_support import page_count, page_image, pdf_text
from tests.scheduling.api_world import build_world
from tests.scheduling.factories import AgentFactory, AppointmentTypeFactory

PARIS = ZoneInfo("Europe/Paris")
TODAY = timezone.now().astimezone(PARIS).date()
MONTH = documents.previous_month(TODAY)  # the report's month: always a past, complete month
BEFORE = documents.add_months(MONTH, -1)
MONTH_KEY = f"{MONTH:%Y-%m}"


def _at(month, day, hour) -> datetime:
    return datetime(month.year, month.month, day, hour, 0, tzinfo=PARIS)


def _appointment(kind, starts_at, status, *, created_by="agent", location=None, booked_days_before=3):
    return Appointment.objects.create(
        organisation=kind.organisation, appointment_type=kind, location=location, starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30), status=status, created_by=created_by,
        created_at=starts_at - timedelta(days=booked_days_before),
    )


def _message(appointment, channel, *, segments=None, key):
    return Message.objects.create(
        channel=channel, recipient="x", recipient_kind=RecipientKind.CITIZEN, kind=Kind.BOOKED,
        appointment=appointment, status=MessageStatus.SENT, sms_segments=segments, idempotency_key=key,
    )


@pytest.fixture
def world(administration_a):
    """MDS Centre: 5 appointments in MONTH (3 honoured, 1 no-show, 1 excused), 2 in the month before (1
    no-show); MDS Nord (another organisation of the same administration): 3 no-shows in MONTH."""
    world = build_world(administration_a)
    with tenant_context(administration_a):
        phone_type = AppointmentTypeFactory(organisation=world.org, service=world.services["social"],
                                            name="Entretien téléphonique", mode=AppointmentType.Mode.PHONE)
        pmi, location = world.pmi_type, world.location
        month = [
            _appointment(pmi, _at(MONTH, 5, 9), "seen", location=location, created_by="citizen"),
            _appointment(pmi, _at(MONTH, 6, 9), "seen", location=location),
            _appointment(pmi, _at(MONTH, 12, 9), "noshow", location=location, booked_days_before=10),
            _appointment(pmi, _at(MONTH, 13, 9), "excused", location=location, created_by="citizen"),
            _appointment(phone_type, _at(MONTH, 20, 14), "seen", created_by="prescriber"),
        ]
        _appointment(pmi, _at(BEFORE, 10, 9), "seen", location=location)
        _appointment(pmi, _at(BEFORE, 11, 9), "noshow", location=location)
        for day in (3, 4, 5):
            _appointment(world.other_type, _at(MONTH, day, 10), "noshow", location=world.other_location)
        _message(month[0], Channel.SMS, segments=2, key=f"t-{month[0].pk}-sms")
        _message(month[1], Channel.SMS, segments=1, key=f"t-{month[1].pk}-sms")
        _message(month[1], Channel.EMAIL, key=f"t-{month[1].pk}-email")
    world.phone_type = phone_type
    return world


def _url(organisation, month=MONTH_KEY) -> str:
    return f"/agents/statistiques/rapport-mensuel/?organisation={organisation.pk}&mois={month}"


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_an_admin_downloads_the_report_of_his_organisation(world):
    admin = login_client(world.administration, world.agents["admin"].user)
    response = admin.get(_url(world.org))
    assert response.status_code == 200, _text(response)
    assert response["Content-Type"] == "application/pdf"
    assert f"{MONTH_KEY}.pdf" in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert f"Rapport d'activité {documents.of_month(MONTH)}" in text and "MDS Centre" in text
    assert "Département A" in text  # the administration in the header
    # figures of the month: 5 appointments, 3 honoured, 1 no-show → 25 % (1 / (3 + 1)), 50 % the month before
    assert "Taux de lapins du mois : 25 %" in text.replace("\u202f", " ")
    assert "mois précédent : 50 %" in text.replace("\u202f", " ") and "en baisse de 25 points" in text
    assert "Consultation PMI" in text and "Entretien téléphonique" in text
    assert "Usager" in text and "Prescripteur" in text  # origins
    assert "Par téléphone" in text and "Sur place" in text and "Centre" in text  # modes and location
    assert "SMS" in text and "E-mail" in text
    assert "SMS envoyés (3 segments)" in text
    # another organisation's appointments are not counted
    assert "PMI Nord" not in text and "MDS Nord" not in text
    assert "Page 1 / " in text and page_count(response.content) >= 2
    image = page_image(response.content)
    assert image.height > image.width > 500
    assert image.convert("L").getextrema()[0] < 100


def test_the_report_draws_accessible_charts_with_their_tables(world):
    with tenant_context(world.administration):
        report = documents.monthly_report_build(world.org, MONTH)
        context = documents.monthly_report_context(report)
    assert context["total"] == 5 and context["outcomes"]["noshow"] == 1
    assert 'role="img"' in context["trend_chart"].svg and "<title" in context["trend_chart"].svg
    assert 'role="img"' in context["weeks_chart"].svg
    assert len(context["trend_rows"]) == 13  # the month and the twelve before it
    assert [row["rate"] for row in context["trend_rows"][-2:]] == ["50\u202f%", "25\u202f%"]
    text = pdf_text(documents.monthly_report_pdf(report))
    assert "Taux d'absence non excusée (lapins) par mois" in text  # the chart's table caption


def test_basic_agents_and_the_secretariat_are_refused_in_french(world):
    for persona in ("basic", "secretary"):
        response = login_client(world.administration, world.agents[persona].user).get(_url(world.org))
        assert response.status_code == 403
        assert "réservé aux administrateurs de l'organisation" in _text(response)
        assert not response.content.startswith(b"%PDF")


def test_an_organisation_outside_the_scope_is_not_found(world):
    admin = login_client(world.administration, world.agents["admin"].user)
    for organisation_id in (world.other_org.pk, 99999999, "abc", "²", "٣"):  # digits int() refuses or reads
        response = admin.get(f"/agents/statistiques/rapport-mensuel/?organisation={organisation_id}&mois={MONTH_KEY}")
        assert response.status_code == 404
        assert "introuvable ou ne fait pas partie de vos organisations" in _text(response)
    response = admin.get(f"/agents/statistiques/rapport-mensuel/?mois={MONTH_KEY}")
    assert response.status_code == 400 and "Choisissez l'organisation" in _text(response)
    outsider = login_client(world.administration, world.agents["outsider"].user)
    assert outsider.get(_url(world.org)).status_code == 404


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "octobre", "26-10", "1999-12", "2026-10-01"])
def test_a_bad_month_is_refused_in_french(world, month):
    response = login_client(world.administration, world.agents["admin"].user).get(_url(world.org, month))
    assert response.status_code == 400
    assert "Mois invalide : indiquez-le sous la forme AAAA-MM" in _text(response)


def test_a_future_month_is_refused_and_the_current_one_is_given(world):
    admin = login_client(world.administration, world.agents["admin"].user)
    future = documents.add_months(TODAY.replace(day=1), 1)
    response = admin.get(_url(world.org, f"{future:%Y-%m}"))
    assert response.status_code == 400 and "n'a pas encore commencé" in _text(response)
    assert admin.get(_url(world.org, f"{TODAY:%Y-%m}")).status_code == 200


def test_without_a_month_the_previous_one_is_given(world):
    admin = login_client(world.administration, world.agents["admin"].user)
    response = admin.get(f"/agents/statistiques/rapport-mensuel/?organisation={world.org.pk}")
    assert response.status_code == 200 and f"{MONTH_KEY}.pdf" in response["Content-Disposition"]


def test_visitors_sign_in_and_other_administrations_get_nothing(world, client_a, agent_b_client):
    assert client_a.get(_url(world.org)).status_code == 302
    response = agent_b_client.get(_url(world.org))
    assert response.status_code in (403, 404) and not response.content.startswith(b"%PDF")


# --- The monthly e-mail --------------------------------------------------------------------------------

def _reports(outbox, organisation) -> list:
    return [message for message in outbox if organisation.name in message.subject]


def test_the_monthly_task_mails_each_organisation_report_to_its_admins_once(world, mailoutbox):
    with tenant_context(world.administration):
        nord_admin = AgentFactory(services=[world.services["pmi"]], organisation=world.other_org,
                                  organisation__level="admin")
        removed_admin = AgentFactory(organisation=world.org, organisation__level="admin")
        removed_admin.deleted_at = timezone.now()
        removed_admin.save()
        result = tasks_pdf.monthly_reports.apply(kwargs={"month": MONTH_KEY}).get()
    assert result["sent"] >= 2
    centre, nord = _reports(mailoutbox, world.org), _reports(mailoutbox, world.other_org)
    assert len(centre) == 1 and len(nord) == 1
    assert centre[0].to == [world.agents["admin"].user.email]  # not the basic agents, not a removed admin
    assert nord[0].to == [nord_admin.user.email]
    message = centre[0]
    assert message.subject == f"Rapport d'activité {documents.of_month(MONTH)} — MDS Centre"
    assert "Vous trouverez ci-joint le rapport d'activité de MDS Centre" in message.body
    assert f"/agents/statistiques/rapport-mensuel/?organisation={world.org.pk}&mois={MONTH_KEY}" in message.body
    [(filename, content, mimetype)] = message.attachments
    assert mimetype == "application/pdf" and filename.endswith(f"{MONTH_KEY}.pdf")
    assert "MDS Centre" in pdf_text(content) and "PMI Nord" not in pdf_text(content)
    assert "Consultation PMI" not in pdf_text(nord[0].attachments[0][1])

    # a second run in the same month sends nothing again
    with tenant_context(world.administration):
        again = tasks_pdf.monthly_reports.apply(kwargs={"month": MONTH_KEY}).get()
    assert again["sent"] == 0 and again["already_sent"] >= 2
    assert len(_reports(mailoutbox, world.org)) == 1 and len(_reports(mailoutbox, world.other_org)) == 1


def test_a_failed_sending_is_sent_by_the_next_run(world, mailoutbox, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    with tenant_context(world.administration):
        first = documents.monthly_reports_send(month=MONTH)
        assert world.org.pk in first.failed
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        second = documents.monthly_reports_send(month=MONTH)
    assert world.org.pk in second.sent and len(_reports(mail.outbox, world.org)) == 1


def test_an_organisation_whose_month_is_not_over_waits(world, mailoutbox):
    with tenant_context(world.administration):
        Organisation.objects.filter(pk=world.org.pk).update(timezone="Pacific/Tahiti")  # UTC-10
        # the first day of the next month, 06:00 UTC: still the last day of MONTH in Tahiti
        beat = datetime.combine(documents.add_months(MONTH, 1), datetime.min.time(), tzinfo=ZoneInfo("UTC"))
        outcome = documents.monthly_reports_send(month=MONTH, now=beat + timedelta(hours=6))
        assert world.org.pk in outcome.not_over and world.org.pk not in outcome.sent
        assert outcome.retry_at == beat + timedelta(hours=10)
        later = documents.monthly_reports_send(month=MONTH, now=beat + timedelta(hours=11))
    assert world.org.pk in later.sent and len(_reports(mailoutbox, world.org)) == 1


def test_the_platform_task_sends_one_task_per_active_administration(db):
    import redis

    from config.celery import app

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = app.conf.task_default_queue
    client.delete(queue)
    try:
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            count = tasks_pdf.monthly_reports_all.apply(kwargs={"month": MONTH_KEY}).get()
        assert count >= 3
        sent = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
        headers = [message["headers"] for message in sent]
        assert all(header["task"] == "reporting.monthly_reports" for header in headers)
        assert {"test-a", "test-b", "test-etat"} <= {header["_schema_name"].replace("_", "-") for header in headers}
        bodies = [json.loads(base64.b64decode(message["body"])) for message in sent]
        assert all(kwargs == {"month": MONTH_KEY} for _, kwargs, _ in bodies)
    finally:
        client.delete(queue)


def test_the_beat_entry_runs_on_the_first_of_each_month():
    entry = settings.CELERY_BEAT_SCHEDULE["monthly-reports"]
    assert entry["task"] == "reporting.monthly_reports_all"
    assert entry["schedule"].day_of_month == {1}


def test_the_administration_task_refuses_the_public_schema(db):
    from tenants.tasks import TaskSentWithoutAdministration

    with schema_context(settings.PUBLIC_SCHEMA_NAME), pytest.raises(TaskSentWithoutAdministration):
        tasks_pdf.monthly_reports.apply(kwargs={"month": MONTH_KEY}).get()


def test_the_report_figures_take_a_fixed_number_of_queries(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with tenant_context(world.administration):
        with CaptureQueriesContext(connection) as small:
            documents.monthly_report_build(world.org, MONTH)
        for day in range(1, 28):
            _appointment(world.pmi_type, _at(MONTH, day, 16), "seen", location=world.location)
            _appointment(world.pmi_type, _at(BEFORE, day, 16), "noshow", location=world.location)
        with CaptureQueriesContext(connection) as large:
            report = documents.monthly_report_build(world.org, MONTH)
    def selects(context):
        return [query for query in context.captured_queries if query["sql"].startswith("SELECT")]

    assert len(selects(small)) == len(selects(large)) <= 6
    assert report.figures.total == 5 + 27 and report.trend[-2].noshow == 1 + 27
