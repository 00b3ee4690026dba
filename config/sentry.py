"""Sentry start-up: no personal data, every event tagged with the schema."""

import re

# E-mail addresses and phone numbers (French or international, with or without separators) left in
# exception messages or log lines are replaced before an event leaves.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w])(?:\+\d{1,3}[\s.-]?|0)\d(?:[\s.-]?\d{2}){4}(?![\w])")
REDACTED = "[filtré]"


def _redact(value):
    if isinstance(value, str):
        return _PHONE.sub(REDACTED, _EMAIL.sub(REDACTED, value))
    if isinstance(value, dict):
        return {key: _redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


def _scrub(event, hint):
    from django.db import connection

    event.setdefault("tags", {})["schema"] = getattr(connection, "schema_name", None) or "-"
    # Never ship personal data: drop user, cookies, bodies and query strings.
    event.pop("user", None)
    request = event.get("request")
    if request:
        for key in ("cookies", "data", "query_string"):
            request.pop(key, None)
        headers = request.get("headers") or {}
        for key in list(headers):
            if key.lower() in {"cookie", "authorization", "x-csrftoken"}:
                headers.pop(key)
    # Local variables of stack frames (a usager object, a form's data), log arguments, extra data and the
    # breadcrumbs' messages may all hold a name or an address: only their shape is kept.
    event.pop("extra", None)
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for frame in (event.get("stacktrace") or {}).get("frames") or []:
        frame.pop("vars", None)
    logentry = event.get("logentry")
    if logentry:
        logentry.pop("params", None)
        logentry.pop("formatted", None)
    breadcrumbs = event.get("breadcrumbs")
    crumbs = breadcrumbs.get("values", []) if isinstance(breadcrumbs, dict) else breadcrumbs or []
    for crumb in crumbs:
        crumb.pop("data", None)
        crumb.pop("message", None)
    return _redact(event)


def init_sentry(dsn: str, *, environment: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        include_local_variables=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=_scrub,
        traces_sample_rate=0.0,
    )
