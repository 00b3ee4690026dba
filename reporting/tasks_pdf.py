"""Monthly activity reports e-mailed to the admins of each organisation (thin: rules in ``reporting.documents``).

Beat runs ``reporting.monthly_reports_all`` on the first day of each month (settings ``monthly-reports``): on
the platform, it sends one ``reporting.monthly_reports`` per active administration, which runs in that
administration's schema and e-mails the previous month's PDF of every organisation, once (see
``documents.monthly_reports_send``). WeasyPrint is only imported when a report is rendered.
"""

from __future__ import annotations

import logging
from datetime import date

from django.utils import timezone

from config.celery import app
from tenants.tasks import AdministrationTask, PlatformTask

logger = logging.getLogger(__name__)

MAX_DEFER_SECONDS = 30 * 60  # ETA tasks beyond the Redis visibility timeout (1 h) would be delivered twice
RETRY_SECONDS = 15 * 60


def _month_of(value: str | None) -> date:
    from .documents import parse_month, previous_month

    today = timezone.now().date()
    return parse_month(value, today=today) if value else previous_month(today)


@app.task(base=PlatformTask, name="reporting.monthly_reports_all", ignore_result=True)
def monthly_reports_all(month: str | None = None) -> int:
    """One ``monthly_reports`` per active administration, in its schema; ``month`` (AAAA-MM) defaults to
    the month before today (UTC: beat runs on the 1st)."""
    from tenants.tasks import send_to_active_administrations

    return send_to_active_administrations(monthly_reports.s(month=f"{_month_of(month):%Y-%m}"))


@app.task(base=AdministrationTask, name="reporting.monthly_reports", bind=True, ignore_result=True,
          max_retries=3)
def monthly_reports(self, month: str | None = None) -> dict:
    """The month's report of every organisation of this administration, e-mailed to its admins once.
    Organisations whose month is not over yet (timezones west of UTC) are done by a later run of this task;
    failures are retried (what was sent is not sent again)."""
    from .documents import monthly_reports_send

    target = _month_of(month)
    outcome = monthly_reports_send(month=target)
    key = f"{target:%Y-%m}"
    if outcome.retry_at is not None:
        wait = (outcome.retry_at - timezone.now()).total_seconds() + 60
        monthly_reports.apply_async(kwargs={"month": key}, countdown=max(60, min(wait, MAX_DEFER_SECONDS)))
    if outcome.failed:
        raise self.retry(countdown=RETRY_SECONDS)
    logger.info("Monthly reports %s: %d sent, %d already sent, %d without admin", key, len(outcome.sent),
                len(outcome.already_sent), len(outcome.without_admin))
    return {"sent": len(outcome.sent), "already_sent": len(outcome.already_sent),
            "without_admin": len(outcome.without_admin), "not_over": len(outcome.not_over)}
