"""The BAN address client against a local fake server (real HTTP)."""

import pytest
from werkzeug.wrappers import Response

from scheduling import addresses
from tests.fakes.ban import FakeBan


def test_search_parses_housenumbers_streets_and_communes(httpserver, settings):
    ban = FakeBan(httpserver, settings)
    ban.add("20 Avenue de Ségur 75007 Paris", city_code="75107", city="Paris", postcode="75007",
            street_id="75107_8909", street="Avenue de Ségur", housenumber="20", lon=2.3095, lat=48.8497)
    ban.add("Rue de la Paix 44000 Nantes", city_code="44109", city="Nantes", street_id="44109_5678",
            street="Rue de la Paix", match="rue de la paix nantes")
    ban.add("Lyon", city_code="69123", city="Lyon", kind="municipality")

    (segur,) = addresses.search("20 avenue de segur paris")
    assert (segur.city_code, segur.street_id, segur.street_name, segur.kind) == (
        "75107", "75107_8909", "Avenue de Ségur", "housenumber")
    assert (segur.latitude, segur.longitude) == (48.8497, 2.3095)

    street = addresses.geocode("rue de la paix nantes")
    assert (street.street_id, street.street_name, street.city_name) == ("44109_5678", "Rue de la Paix", "Nantes")

    lyon = addresses.geocode("Lyon")
    assert (lyon.city_code, lyon.street_id, lyon.kind) == ("69123", "", "municipality")


def test_short_or_unknown_queries(httpserver, settings):
    FakeBan(httpserver, settings)
    assert addresses.search("  ab ") == []  # too short: no request at all
    assert len(httpserver.log) == 0
    assert addresses.geocode("une adresse que personne ne connaît") is None


@pytest.mark.parametrize("response", [
    Response("panne", status=503),
    Response("pas du json", status=200, content_type="application/json"),
])
def test_failures_become_a_french_unavailable_error(httpserver, settings, response):
    settings.ADDRESS_API_URL = httpserver.url_for("/")
    httpserver.expect_request("/search/").respond_with_response(response)
    with pytest.raises(addresses.AddressServiceUnavailable) as error:
        addresses.search("20 avenue de ségur")
    assert "ne répond pas" in error.value.message


def test_nobody_listening_and_not_configured(settings):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.ADDRESS_API_URL = f"http://127.0.0.1:{port}"
    with pytest.raises(addresses.AddressServiceUnavailable):
        addresses.search("20 avenue de ségur")
    settings.ADDRESS_API_URL = ""
    with pytest.raises(addresses.AddressServiceUnavailable) as error:
        addresses.search("20 avenue de ségur")
    assert error.value.message == addresses.NOT_CONFIGURED_MESSAGE


def test_a_malformed_feature_does_not_hide_the_others(httpserver, settings):
    ban = FakeBan(httpserver, settings)
    ban.add("Lyon", city_code="69123", city="Lyon")
    ban.features.insert(0, ("lyon", {"type": "Feature", "properties": {"label": "cassé"}}))
    assert [address.city_code for address in addresses.search("Lyon")] == ["69123"]
