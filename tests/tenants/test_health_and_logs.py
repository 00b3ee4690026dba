import json
import logging

import pytest
from django.db import connection
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from config.logging import SchemaFilter


def _health(host="localhost"):
    response = Client(HTTP_HOST=host).get("/healthz")
    return response.status_code, json.loads(response.content)


@pytest.mark.parametrize("host", ["localhost", "test-a.localhost", "10.0.0.7", "inconnue.localhost"])
def test_healthz_ok_on_any_host(db, host):
    status, body = _health(host)
    assert status == 200
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


def test_healthz_503_when_redis_is_down(db):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        status, body = _health()
    assert status == 503
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_healthz_503_when_database_is_down(django_db_blocker):
    with django_db_blocker.unblock():
        connection.close()
        original_port = connection.settings_dict["PORT"]
        connection.settings_dict["PORT"] = "1"
        try:
            status, body = _health()
        finally:
            connection.close()
            connection.settings_dict["PORT"] = original_port
    assert status == 503
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["redis"]["ok"] is True


def test_log_records_carry_the_schema(administration_a):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "message", None, None)
    with tenant_context(administration_a):
        SchemaFilter().filter(record)
    assert record.schema_name == administration_a.schema_name


def test_request_logs_carry_the_schema(administration_a, caplog, client_a):
    logger = logging.getLogger("tenants.test")
    with caplog.at_level(logging.INFO, logger="tenants.test"):
        client_a.get("/")  # the request switches the connection to A's schema
        logger.info("après la requête")
    record = caplog.records[-1]
    assert SchemaFilter().filter(record)
    assert record.schema_name == administration_a.schema_name


@pytest.mark.parametrize("host", ["test-a.localhost", "localhost"])
def test_pages_answer_a_french_503_while_the_database_is_unreachable(django_db_blocker, host):
    """A PostgreSQL restart: requests in flight get "momentanément indisponible" with Retry-After, not a 500."""
    client = Client(HTTP_HOST=host, raise_request_exception=False)
    with django_db_blocker.unblock():
        connection.close()
        original_port = connection.settings_dict["PORT"]
        connection.settings_dict["PORT"] = "1"
        try:
            response = client.get("/")
        finally:
            connection.close()
            connection.settings_dict["PORT"] = original_port
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "Service momentanément indisponible" in response.content.decode()
