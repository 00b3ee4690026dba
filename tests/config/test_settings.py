"""Settings come from the environment through typed readers that name the faulty variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DJANGO_SECRET_KEY": "x" * 20 + "-prod-secret-for-the-deploy-check-0123456789",
    "BASE_DOMAIN": "rdv.exemple.gouv.fr",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/rdv",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DEFAULT_FROM_EMAIL": "RDV <ne-pas-repondre@rdv.exemple.gouv.fr>",
}


def _run(args, extra_env, settings_module="config.settings.prod"):
    environment = {k: v for k, v in os.environ.items() if k not in PROD_ENV and not k.startswith("SENTRY")}
    environment.update(extra_env, DJANGO_SETTINGS_MODULE=settings_module)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("reader", "value", "kwargs", "message"),
    [
        (env.env_bool, "peut-être", {}, "RDV_X must be a boolean"),
        (env.env_int, "douze", {}, "RDV_X must be an integer"),
        (env.env_int, "-3", {"minimum": 0}, "RDV_X must be at least 0"),
        (env.env_url, "ftp://x", {"schemes": ("redis",)}, "RDV_X must be a URL"),
        (env.env_database, "postgres://h:5432/", {}, "RDV_X must name a database"),
        (env.env_database, "postgres://h:port/db", {}, "RDV_X has an invalid port"),
    ],
)
def test_bad_values_are_refused_with_the_variable_name(monkeypatch, reader, value, kwargs, message):
    monkeypatch.setenv("RDV_X", value)
    with pytest.raises(ImproperlyConfigured, match=message):
        reader("RDV_X", **kwargs)


def test_required_variable_missing(monkeypatch):
    monkeypatch.delenv("RDV_X", raising=False)
    with pytest.raises(ImproperlyConfigured, match="RDV_X is required"):
        env.env_str("RDV_X")


def test_good_values(monkeypatch):
    monkeypatch.setenv("RDV_B", "oui")
    monkeypatch.setenv("RDV_L", "a.fr, b.fr,")
    monkeypatch.setenv("RDV_D", "postgres://u:p%40ss@db.local:6543/rdv")
    assert env.env_bool("RDV_B") is True
    assert env.env_list("RDV_L") == ["a.fr", "b.fr"]
    database = env.env_database("RDV_D")
    assert (database["USER"], database["PASSWORD"], database["HOST"], database["PORT"], database["NAME"]) == (
        "u", "p@ss", "db.local", "6543", "rdv"
    )


def test_production_settings_pass_check_deploy():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "BASE_DOMAIN", "DATABASE_URL", "REDIS_URL"])
def test_production_settings_refuse_to_start_without_required_variables(missing):
    incomplete = {k: v for k, v in PROD_ENV.items() if k != missing}
    result = _run(["manage.py", "check"], incomplete)
    assert result.returncode != 0
    assert f"{missing} is required" in result.stderr


def test_production_refuses_a_weak_secret_key():
    result = _run(["manage.py", "check"], {**PROD_ENV, "DJANGO_SECRET_KEY": "court"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be a random value" in result.stderr


def test_sentry_starts_only_with_a_dsn():
    code = "import django; django.setup(); import sentry_sdk; print(sentry_sdk.get_client().is_active())"
    with_dsn = _run(["-c", code], {**PROD_ENV, "SENTRY_DSN": "http://public@127.0.0.1:9/1"})
    without = _run(["-c", code], PROD_ENV)
    assert with_dsn.stdout.strip() == "True", with_dsn.stderr
    assert without.stdout.strip() == "False", without.stderr


def test_sentry_events_carry_the_schema_and_no_personal_data(administration_a):
    from django_tenants.utils import tenant_context

    from config.sentry import _scrub

    event = {
        "user": {"email": "marie.dupont@exemple.fr", "ip_address": "1.2.3.4"},
        "request": {
            "url": "http://test-a.localhost/agents/",
            "cookies": {"sessionid": "abc"},
            "data": {"phone": "0612345678"},
            "query_string": "email=marie.dupont@exemple.fr",
            "headers": {"Cookie": "sessionid=abc", "Authorization": "Token t", "User-Agent": "x"},
        },
    }
    with tenant_context(administration_a):
        scrubbed = _scrub(event, None)
    assert scrubbed["tags"]["schema"] == administration_a.schema_name
    assert "user" not in scrubbed
    assert set(scrubbed["request"]) == {"url", "headers"}
    assert scrubbed["request"]["headers"] == {"User-Agent": "x"}
