"""Redis down: the default cache behaves as an empty cache, so pages that count rate limits or keep session
copies still answer (bench/load.py saw 500s on one-time codes and sign-in during a Redis outage)."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory, override_settings

from public_booking import ratelimit
from tests.factories import PASSWORD

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    caches["default"]["LOCATION"] = DEAD_REDIS
    with override_settings(CACHES=caches):
        yield


def test_an_unreachable_cache_reads_as_empty_and_drops_writes(redis_down, caplog):
    assert cache.get("anything", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set("key", 1) is None and cache.delete("key") is False
    assert cache.add("key", 1) is True  # as if new
    with pytest.raises(ValueError):
        cache.incr("key")
    assert cache.get_or_set("key", 7) == 7
    assert "Redis unreachable" in caplog.text


def test_rate_limits_let_requests_through_while_redis_is_down(redis_down, settings):
    settings.PUBLIC_RATE_LIMITS = {"otp_send": (1, 600)}
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    assert all(ratelimit.hit(request, "otp_send") for _ in range(3))


def test_an_agent_signs_in_while_redis_is_down(redis_down, client_a, agent_a):
    wrong = client_a.post("/comptes/login/", {"login": "agent@test-a.fr", "password": "not-the-password"})
    assert wrong.status_code == 200 and "mot de passe" in wrong.content.decode().lower()
    right = client_a.post("/comptes/login/", {"login": "agent@test-a.fr", "password": PASSWORD})
    assert right.status_code == 302
    assert client_a.get(right["Location"]).status_code in (200, 302)
