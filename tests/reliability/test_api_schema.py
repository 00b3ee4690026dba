"""API v1 fuzzed against its own OpenAPI schema (schemathesis): whatever an agent's client sends, the answer
is never a server error and always matches the schema (status code documented, body of the documented shape).

Schemathesis generates each operation's inputs (path ids, query strings, JSON bodies, valid and not) from
the schema served at /api/v1/schema/, and sends them through Django's WSGI handler on administration A's
host with the token of an organisation admin; each test still runs in its rolled-back transaction."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.throttling import UserRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.scheduling.api_world import api_client, build_world

CHECKS = [not_a_server_error, response_schema_conformance]
# The schema documents each operation's success and a few of its refusals; any other refusal must still be
# one of these, in JSON (the schema does not list 400/404 for every operation: reported, not enforced).
CLEAN_REFUSALS = {400, 401, 403, 404, 405, 406, 409, 413, 415}
EXAMPLES = 15
TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]+)?)?$"


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


@pytest.fixture
def api_schema(world):
    client = world.client("admin")
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(wall_clock_times(response.json()))


def wall_clock_times(node):
    """Times of day (availabilities, absences) are wall-clock times of the administration, sent without an
    offset ("09:00:00"); JSON Schema's ``format: time`` is RFC 3339's full-time, which demands one. Check
    them against the shape the API documents in words instead."""
    if isinstance(node, dict):
        if node.get("format") == "time":
            node = {key: value for key, value in node.items() if key != "format"}
            node["pattern"] = TIME_OF_DAY
        return {key: wall_clock_times(value) for key, value in node.items()}
    if isinstance(node, list):
        return [wall_clock_times(value) for value in node]
    return node


def operations(api_schema):
    return [result.ok() for result in api_schema.get_all_operations()]


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler, without closing the test's connection at the end of each request (as the
    test client does): the data of the test transaction stays visible and is rolled back afterwards."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield WSGIHandler()
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_every_operation_answers_without_server_error_and_as_documented(world, api_schema, wsgi_app, monkeypatch):
    # Hundreds of requests with one token: lift the per-agent rate (100/min) so no answer is a mere 429.
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "100000/min"})
    token = api_client(world.administration, world.agents["admin"].user).defaults["HTTP_AUTHORIZATION"]
    base_url = f"http://{world.administration.primary_domain}"
    failures, statuses = [], []
    all_operations = operations(api_schema)
    for operation in all_operations:

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def exercise(case):
            response = case.call(app=wsgi_app, base_url=base_url, headers={"Authorization": token})
            statuses.append(response.status_code)
            case.validate_response(response, checks=CHECKS)
            documented = set(case.operation.definition.raw.get("responses", {}))
            if str(response.status_code) not in documented:
                assert response.status_code in CLEAN_REFUSALS, (response.status_code, response.text[:300])
                content_type = {key.lower(): value for key, value in response.headers.items()}.get("content-type", [""])
                assert content_type[0].startswith("application/json"), response.headers

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as error:  # collected to report every operation at once
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)
    assert len(all_operations) > 30
    # Both valid and refused inputs were generated.
    assert any(200 <= status < 300 for status in statuses) and any(400 <= status < 500 for status in statuses)
