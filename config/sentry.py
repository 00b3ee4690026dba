"""Sentry start-up: no personal data, every event tagged with the schema."""


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
    return event


def init_sentry(dsn: str, *, environment: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=_scrub,
        traces_sample_rate=0.0,
    )
