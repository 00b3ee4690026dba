"""French public holidays per region (scheduling.holidays)."""

from datetime import date

import pytest

from scheduling.holidays import REGIONS, public_holidays, region_for_timezone

METROPOLE_2025 = {
    date(2025, 1, 1), date(2025, 4, 21), date(2025, 5, 1), date(2025, 5, 8), date(2025, 5, 29), date(2025, 6, 9),
    date(2025, 7, 14), date(2025, 8, 15), date(2025, 11, 1), date(2025, 11, 11), date(2025, 12, 25),
}


def test_metropole():
    assert public_holidays("metropole", [2025]) == METROPOLE_2025
    assert public_holidays("metropole", 2025) == METROPOLE_2025


def test_alsace_moselle_adds_good_friday_and_26_december():
    assert public_holidays("alsace-moselle", 2025) - METROPOLE_2025 == {date(2025, 4, 18), date(2025, 12, 26)}


@pytest.mark.parametrize(
    "region, day",
    [
        ("guadeloupe", date(2025, 5, 27)),
        ("martinique", date(2025, 5, 22)),
        ("guyane", date(2025, 6, 10)),
        ("la-reunion", date(2025, 12, 20)),
        ("mayotte", date(2025, 4, 27)),
        ("saint-barthelemy", date(2025, 10, 9)),
        ("saint-martin", date(2025, 5, 28)),
        ("polynesie-francaise", date(2025, 3, 5)),
        ("nouvelle-caledonie", date(2025, 9, 24)),
        ("wallis-et-futuna", date(2025, 7, 29)),
    ],
)
def test_overseas_days(region, day):
    holidays = public_holidays(region, 2025)
    assert day in holidays and day not in METROPOLE_2025
    assert date(2025, 7, 14) in holidays


def test_every_region_has_a_calendar_and_a_french_label():
    for region, label in REGIONS.items():
        assert label and len(public_holidays(region, [2025, 2026])) >= 20
    assert "saint-pierre-et-miquelon" in REGIONS


def test_several_years_and_none():
    assert len(public_holidays("metropole", range(2025, 2028))) == 33
    assert public_holidays("metropole", []) == frozenset()


def test_unknown_region():
    with pytest.raises(ValueError):
        public_holidays("atlantide", 2025)


@pytest.mark.parametrize(
    "tz_name, region",
    [
        ("Europe/Paris", "metropole"),
        ("Indian/Reunion", "la-reunion"),
        ("America/Cayenne", "guyane"),
        ("America/Guadeloupe", "guadeloupe"),
        ("America/Martinique", "martinique"),
        ("Indian/Mayotte", "mayotte"),
        ("Pacific/Tahiti", "polynesie-francaise"),
        ("Pacific/Noumea", "nouvelle-caledonie"),
        ("America/Miquelon", "saint-pierre-et-miquelon"),
        ("Asia/Tokyo", "metropole"),
    ],
)
def test_region_for_timezone(tz_name, region):
    assert region_for_timezone(tz_name) == region
    assert region in REGIONS
