"""Reporting as an administration admin walks through it in Chromium, in both looks: the statistics page from
the menu (period and grouping changed, charts with their data tables), the CSV export of the appointment list
(downloaded, opened: BOM, ";", the expected header), and the monthly PDF report linked from the statistics
page (downloaded, its first page rendered to an image with pypdfium2 and looked at). axe-core runs on the
statistics and export pages; screenshots go to var/screenshots/. The administration is made for the test and
filled with the demo content, plus past appointments of known outcomes so that the figures can be checked."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import tenant_context

from tests.e2e.conftest import SCREENSHOTS_DIR, axe_check, screenshot
from tests.e2e.test_agent_pages import demo_administration, sign_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

TZ = ZoneInfo("Europe/Paris")
# Past appointments added to the demo content, per month before the current one: (seen, noshow, excused).
PAST_OUTCOMES = {1: (5, 2, 1), 2: (4, 1, 1), 3: (3, 1, 0)}


def months_before(today: date, count: int) -> date:
    """First day of the month ``count`` months before today's."""
    month = today.month - count
    year = today.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1)


def add_past_appointments(administration) -> dict:
    """Past appointments of the admin with known outcomes, one per working day from the 2nd of each month;
    returns what the test checks against."""
    from messaging.models import Message
    from scheduling.models import Agent, Appointment, AppointmentAgent, AppointmentType, Citizen, Participation

    today = datetime.now(TZ).date()
    with tenant_context(administration):
        agent = Agent.objects.get(user__email=f"admin@{administration.slug}.fr")
        kind = AppointmentType.objects.filter(collective=False, mode="in_person").order_by("pk").first()
        location = kind.organisation.locations.order_by("pk").first()
        citizens = list(Citizen.objects.order_by("pk")[:3])
        total = 0
        for back, counts in PAST_OUTCOMES.items():
            day = months_before(today, back) + timedelta(days=1)
            statuses = ["seen"] * counts[0] + ["noshow"] * counts[1] + ["excused"] * counts[2]
            for index, status in enumerate(statuses):
                while day.weekday() >= 5:
                    day += timedelta(days=1)
                starts_at = datetime.combine(day, time(10), TZ)
                ends_at = starts_at + timedelta(minutes=kind.duration_minutes)
                appointment = Appointment.objects.create(
                    organisation=kind.organisation, appointment_type=kind, location=location, starts_at=starts_at,
                    ends_at=ends_at, status=status, created_by="citizen" if index % 2 else "agent",
                    created_by_agent=None if index % 2 else agent, created_at=starts_at - timedelta(days=6),
                    cancelled_at=starts_at - timedelta(days=1) if status == "excused" else None,
                )
                AppointmentAgent.objects.create(appointment=appointment, agent=agent, starts_at=starts_at,
                                                ends_at=ends_at, blocks=status != "excused")
                citizen = citizens[index % len(citizens)]
                participation = Participation.objects.create(appointment=appointment, citizen=citizen, status=status)
                Message.objects.create(
                    channel="sms", recipient="+33612345678", recipient_kind="citizen", kind="reminder",
                    appointment=appointment, participation=participation, citizen=citizen, status="sent",
                    sms_segments=2, idempotency_key=f"e2e-reporting-{appointment.pk}", created_at=starts_at,
                )
                total += 1
                day += timedelta(days=1)
    start, end = months_before(today, 3), months_before(today, 0) - timedelta(days=1)
    seen = sum(counts[0] for counts in PAST_OUTCOMES.values())
    noshow = sum(counts[1] for counts in PAST_OUTCOMES.values())
    return {"start": start, "end": end, "total": total, "seen": seen, "noshow": noshow,
            "organisation": kind.organisation, "report_month": months_before(today, 1)}


def look_at_pdf(content: bytes, name: str) -> tuple[str, float]:
    """Render the PDF's first page to a PNG next to the screenshots; (its text, share of non-white pixels)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(content)
    try:
        page = document[0]
        image = page.render(scale=1.5).to_pil().convert("L")
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        image.save(SCREENSHOTS_DIR / f"{name}.png")
        text = page.get_textpage().get_text_range()
    finally:
        document.close()
    histogram = image.histogram()
    inked = sum(histogram[:200]) / (image.width * image.height)
    return text, inked


def test_an_administration_admin_reads_the_statistics_and_downloads_a_csv_and_the_monthly_report(
        page, live_app, demo_administration):  # noqa: F811
    from reporting.exports import headers

    administration, look = demo_administration
    expected = add_past_appointments(administration)
    slug = administration.slug
    sign_in(page, live_app, slug, f"admin@{slug}.fr")

    # Statistics, from the menu.
    page.get_by_role("navigation", name="Espace agents").get_by_role("link", name="Statistiques").click()
    page.wait_for_url("**/agents/statistiques/")
    assert page.get_by_role("heading", level=1, name="Statistiques").is_visible()
    page.get_by_label("Du", exact=True).fill(expected["start"].isoformat())
    page.get_by_label("Au", exact=True).fill(expected["end"].isoformat())
    page.get_by_label("Regrouper par").select_option("week")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url("**/agents/statistiques/?*granularity=week*")
    period = f"Du {expected['start']:%d/%m/%Y} au {expected['end']:%d/%m/%Y}"
    assert page.get_by_role("heading", name=period).is_visible()
    figures = page.locator(".stats-key-figures")
    assert f"{expected['total']} rendez-vous" in figures.inner_text()
    assert f"{expected['seen']} honorés" in figures.inner_text()
    charts = page.locator("figure svg[role='img']")
    assert charts.count() >= 5
    for index in range(charts.count()):  # each chart is named and has its data table
        assert charts.nth(index).get_attribute("aria-labelledby")
    tables = page.locator("figure details")
    assert tables.count() == charts.count()
    tables.first.locator("summary").click()
    first_table = tables.first.get_by_role("table")
    assert first_table.is_visible()
    assert first_table.locator("caption").inner_text()
    assert page.get_by_role("table", name="Notifications par canal").get_by_role("row", name="SMS").is_visible()
    screenshot(page, f"reporting-statistics-{look}")
    axe_check(page, context=f"statistics page ({look})")

    # The monthly report of the organisation (last month), downloaded from the page and looked at.
    organisation = expected["organisation"]
    with page.expect_download() as download_info:
        page.get_by_role("link", name=f"Rapport mensuel (PDF) de {organisation.name}").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    assert f"mois={expected['report_month']:%Y-%m}" in download.url
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF")
    text, inked = look_at_pdf(content, f"reporting-monthly-report-{look}")
    assert inked > 0.005, f"the first page looks blank ({inked:.2%} of pixels inked)"
    assert organisation.name in " ".join(text.split())

    # The appointment list's export: a CSV that Excel in French opens.
    page.get_by_role("navigation", name="Espace agents").get_by_role("link", name="Rendez-vous").click()
    page.get_by_role("link", name="Exporter").click()
    assert page.get_by_role("heading", level=1, name="Exporter les rendez-vous").is_visible()
    page.get_by_label("CSV", exact=True).check()
    screenshot(page, f"reporting-export-{look}")
    axe_check(page, context=f"export page ({look})")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Exporter").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == headers("appointments")
    assert len(rows) > 1 and all(len(row) == len(rows[0]) for row in rows)
    assert rows[0][:4] == ["N° RDV", "Date", "Heure", "Durée (min)"]
