import pytest

from tests.public_booking.journey_world import build_world


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


@pytest.fixture(autouse=True)
def _clear_rate_limits(settings):
    """Each test starts with fresh rate-limit counters (the cache is a real Redis, shared by tests)."""
    from django.core.cache import cache

    cache.clear()
    yield
