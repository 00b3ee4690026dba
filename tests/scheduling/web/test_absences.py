"""Screen 7 of the back office: absences (one-off over several days, or repeating within a day), for oneself
and, for admins, for the agents of their organisations; French errors on bad input; pinned query counts."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from scheduling.models import Absence
from tests.scheduling.api_world import MONDAY, build_world
from tests.scheduling.factories import AbsenceFactory
from tests.scheduling.web.agenda_support import client_for, count_queries, text

LIST = "/agents/absences/"
NEW = "/agents/absences/nouvelle/"


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def form(**overrides) -> dict:
    data = {
        "title": "Formation", "first_day": MONDAY.isoformat(), "start_time": "09:00", "end_day": "",
        "end_time": "17:00", "recurrence": "none", "interval": "1", "until": "", "excluded_dates": "",
    }
    data.update(overrides)
    return data


def count(world, **filters) -> int:
    with tenant_context(world.administration):
        return Absence.objects.filter(**filters).count()


@pytest.mark.parametrize(("persona", "target", "expected"), [
    ("anonymous", None, 302), ("no_profile", None, 403), ("basic", None, 200), ("basic", "admin", 200),
    ("basic", "colleague", 404), ("secretary", "colleague", 200), ("admin", "colleague", 200),
    ("outsider", "basic", 404), ("outsider", None, 200),
])
def test_list_persona_matrix(world, persona, target, expected):
    query = f"?agent={world.agents[target].pk}" if target else ""
    assert client_for(world, persona).get(LIST + query).status_code == expected


@pytest.mark.parametrize(("persona", "target", "expected"), [
    ("basic", None, 302), ("basic", "colleague", 404), ("basic", "admin", 403), ("secretary", "basic", 403),
    ("admin", "colleague", 302), ("outsider", "colleague", 404), ("anonymous", None, 302),
])
def test_create_persona_matrix(world, persona, target, expected):
    query = f"?agent={world.agents[target].pk}" if target else ""
    response = client_for(world, persona).post(NEW + query, form())
    assert response.status_code == expected
    owner = world.agents[target or ("basic" if persona == "anonymous" else persona)]
    assert count(world, agent=owner, title="Formation") == (1 if expected == 302 and persona != "anonymous" else 0)


@pytest.mark.parametrize(("persona", "owner", "expected"), [
    ("basic", "basic", 200), ("colleague", "basic", 404), ("secretary", "basic", 403), ("admin", "basic", 200),
    ("admin", "outsider", 404), ("outsider", "basic", 404),
])
def test_edit_and_delete_persona_matrix(world, persona, owner, expected):
    absence = world.absences[owner]
    client = client_for(world, persona)
    assert client.get(f"/agents/absences/{absence.pk}/").status_code == expected
    response = client.post(f"/agents/absences/{absence.pk}/supprimer/")
    assert response.status_code == (302 if expected == 200 else expected)
    assert count(world, pk=absence.pk) == (0 if expected == 200 else 1)


def test_one_off_over_several_days_then_edited_and_deleted(world):
    client = client_for(world, "basic")
    page = text(client.get(NEW))
    assert "Dernier jour" in page and "Dates exclues" in page
    end = MONDAY + timedelta(days=2)
    response = client.post(NEW, form(end_day=end.isoformat(), start_time="14:00", end_time="10:00",
                                     weekdays=["0"], until="2027-01-01"))
    assert response.status_code == 302 and response["Location"] == LIST
    with tenant_context(world.administration):
        absence = Absence.objects.get(title="Formation")
        assert (absence.first_day, absence.end_day, absence.start_time, absence.end_time) == (
            MONDAY, end, time(14), time(10))
        assert absence.weekdays == [] and absence.until is None
    listing = text(client.get(LIST))
    assert f"Du {_long(MONDAY)} à 14:00 au {_long(end)} à 10:00" in listing
    url = f"/agents/absences/{absence.pk}/"
    assert client.post(url, form(title="Congés", end_day="")).status_code == 302
    with tenant_context(world.administration):
        absence.refresh_from_db()
        assert absence.title == "Congés" and absence.end_day == MONDAY
    assert client.get(f"{url}supprimer/").status_code == 200
    assert client.post(f"{url}supprimer/").status_code == 302 and count(world, pk=absence.pk) == 0


def _long(day):
    from scheduling.recurrence_text import long_date

    return long_date(day)


def test_repeating_absence_within_a_day(world):
    client = client_for(world, "basic")
    response = client.post(NEW, form(recurrence="weekly", weekdays=["2"], interval="2", start_time="12:00",
                                     end_time="14:00", until="2027-06-30"))
    assert response.status_code == 302
    with tenant_context(world.administration):
        absence = Absence.objects.get(title="Formation")
        assert absence.end_day == absence.first_day and absence.weekdays == [2] and absence.interval == 2
    assert "Toutes les 2 semaines le mercredi, de 12:00 à 14:00" in text(client.get(LIST))


def test_expired_absences_are_listed_apart(world):
    with tenant_context(world.administration):
        past = AbsenceFactory(agent=world.agents["basic"], first_day=date.today() - timedelta(days=10),
                              end_day=date.today() - timedelta(days=8), title="Passée")
        ended = AbsenceFactory(agent=world.agents["basic"], first_day=date.today() - timedelta(days=60),
                               recurrence="weekly", weekdays=[0], until=date.today() - timedelta(days=1),
                               title="Terminée")
        running = AbsenceFactory(agent=world.agents["basic"], first_day=date.today() - timedelta(days=3),
                                 end_day=date.today() + timedelta(days=3), title="En cours")
    client = client_for(world, "basic")
    current, expired = text(client.get(LIST)), text(client.get(f"{LIST}?periode=passees"))
    for absence in (past, ended):
        assert f"/agents/absences/{absence.pk}/" in expired and f"/agents/absences/{absence.pk}/" not in current
    assert f"/agents/absences/{running.pk}/" in current and "Congés basic" in current


def _bad(world, data, field, fragment):
    before = count(world)
    response = client_for(world, "basic").post(NEW, data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and fragment in " ".join(errors[field]), errors
    assert count(world) == before


@pytest.mark.parametrize(("overrides", "field", "fragment"), [
    ({"end_time": "08:00"}, "end_time", "après l'heure de début"),
    ({"end_day": (MONDAY - timedelta(days=1)).isoformat()}, "end_day", "après le premier jour"),
    ({"recurrence": "weekly", "weekdays": ["0"], "end_day": (MONDAY + timedelta(days=1)).isoformat()}, "end_day",
     "tient dans une journée"),
    ({"recurrence": "weekly"}, "weekdays", "au moins un jour"),
    ({"recurrence": "weekly", "weekdays": ["0"], "interval": "9"}, "interval", "Sélectionnez un choix valide"),
    ({"recurrence": "weekly", "weekdays": ["0"], "until": "2001-01-01"}, "until", "après le premier jour"),
    ({"first_day": "32/01/2027"}, "first_day", "date valide"),
    ({"first_day": ""}, "first_day", "obligatoire"),
    ({"end_day": "hier"}, "end_day", "date valide"),
    ({"first_day": "1999-01-01", "end_day": "1999-01-02"}, "first_day", "pas réaliste"),
    ({"end_time": "midi"}, "end_time", "heure valide"),
    ({"recurrence": "weekly", "weekdays": ["0"], "excluded_dates": "lundi"}, "excluded_dates", "n'est pas une date"),
])
def test_bad_input_gives_french_field_errors_and_saves_nothing(world, overrides, field, fragment):
    _bad(world, form(**overrides), field, fragment)


def test_editing_with_bad_input_changes_nothing(world):
    absence = world.absences["basic"]
    response = client_for(world, "basic").post(f"/agents/absences/{absence.pk}/", form(title="X", end_time="08:00"))
    assert response.status_code == 400
    with tenant_context(world.administration):
        absence.refresh_from_db()
        assert absence.title == "Congés basic"


def test_list_query_count_is_pinned(world):
    def grow(n):
        with tenant_context(world.administration):
            for index in range(n):
                AbsenceFactory(agent=world.agents["basic"], first_day=MONDAY + timedelta(days=index))
                AbsenceFactory(agent=world.agents["basic"], first_day=MONDAY - timedelta(days=300 + index))

    client = client_for(world, "admin")
    query = f"?agent={world.agents['basic'].pk}"
    grow(1)
    client.get(LIST + query)
    counts = []
    for n in (2, 8):
        connection.set_schema_to_public()
        current, _ = count_queries(lambda: client.get(LIST + query))
        connection.set_schema_to_public()
        expired, _ = count_queries(lambda: client.get(f"{LIST}{query}&periode=passees"))
        counts.append((current, expired))
        grow(n)
    assert counts[0] == counts[1] and counts[0][0] <= 12, counts
