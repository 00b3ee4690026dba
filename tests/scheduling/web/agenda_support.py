"""Shared by the tests of the agenda area (home, agenda, appointment page and list): the persona world of
the API tests with signed-in HTML clients, and small helpers."""

from __future__ import annotations

import html
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import login_client, make_client

PERSONAS = ("basic", "colleague", "secretary", "admin", "outsider")


def client_for(world, persona: str):
    if persona == "anonymous":
        return make_client(world.administration)
    if persona == "no_profile":
        return login_client(world.administration, world.no_profile)
    return login_client(world.administration, world.agents[persona].user)


def text(response) -> str:
    """The page's text with entities decoded and whitespace collapsed."""
    body = html.unescape(response.content.decode())
    return re.sub(r"\s+", " ", body)


def count_queries(callable_) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        result = callable_()
    return len(captured.captured_queries), result
