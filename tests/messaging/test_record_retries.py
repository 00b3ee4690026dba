"""Recording a sent message survives a database that restarts meanwhile (bench/load.py: a PostgreSQL restart
left one row "sending" after the provider had it, so the sweeper would have sent it twice)."""

import pytest
from django.db import OperationalError, connection, transaction

from messaging.services import RECORD_RETRY_DELAYS, with_database_retries


@pytest.fixture
def autocommit(django_db_setup, django_db_blocker):
    """Database access outside any transaction, as in the worker (no ``transactional_db``: see conftest)."""
    with django_db_blocker.unblock():
        yield


def flaky(failures: int):
    calls = []

    def write():
        calls.append(connection.connection is not None)
        if len(calls) <= failures:
            raise OperationalError("server closed the connection unexpectedly")
        return True

    return write, calls


def test_the_write_is_retried_on_a_fresh_connection_until_the_database_answers(autocommit):
    write, calls = flaky(failures=2)
    slept = []
    assert with_database_retries(write, sleep=slept.append) is True
    assert len(calls) == 3 and slept == list(RECORD_RETRY_DELAYS[:2])
    assert calls[1:] == [False, False]  # the broken connection was dropped before each new attempt


def test_a_database_down_longer_than_the_retries_still_raises(autocommit):
    write, calls = flaky(failures=99)
    slept = []
    with pytest.raises(OperationalError):
        with_database_retries(write, sleep=slept.append)
    assert len(calls) == len(RECORD_RETRY_DELAYS) + 1 and slept == list(RECORD_RETRY_DELAYS)


def test_inside_a_transaction_nothing_is_retried(db):
    write, calls = flaky(failures=1)
    with transaction.atomic(), pytest.raises(OperationalError):
        with_database_retries(write, sleep=lambda _: pytest.fail("no sleep inside a transaction"))
    assert len(calls) == 1
