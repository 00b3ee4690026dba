"""Client of the national address API (Base Adresse Nationale, ``/search/``): geocodes an address typed by
an usager or an agent into a label, a commune (INSEE code), a street id and coordinates.

One keep-alive HTTP session per process, short timeouts; every failure becomes
:class:`AddressServiceUnavailable` with a French message, so pages can fall back clearly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.conf import settings

UNAVAILABLE_MESSAGE = ("Le service de recherche d'adresses ne répond pas pour le moment. "
                       "Réessayez dans quelques instants, ou choisissez directement un lieu.")
NOT_CONFIGURED_MESSAGE = "La recherche d'adresses n'est pas configurée sur cette plateforme."


class AddressServiceUnavailable(Exception):
    def __init__(self, message: str = UNAVAILABLE_MESSAGE):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Address:
    label: str  # "20 Avenue de Ségur 75007 Paris"
    city_code: str  # INSEE code of the commune
    city_name: str
    postcode: str
    street_id: str  # BAN id of the street ("75107_8909"), empty for a commune or a locality
    street_name: str
    latitude: float
    longitude: float
    score: float
    kind: str  # housenumber | street | locality | municipality


_local = threading.local()


def _session():
    import requests

    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.headers["User-Agent"] = "rdv-service-public (geocodage)"
    return session


def _street_id(properties: dict) -> str:
    if properties.get("type") == "street":
        return properties.get("id", "")
    if properties.get("type") == "housenumber":
        # "75107_8909_00020" → the street is the id without its house-number part
        identifier = properties.get("id", "")
        return identifier.rsplit("_", 1)[0] if identifier.count("_") >= 2 else ""
    return ""


def search(query: str, *, limit: int = 5) -> list[Address]:
    """Addresses matching ``query``, best first. Raises :class:`AddressServiceUnavailable`."""
    import requests

    query = " ".join((query or "").split())[:200]
    if len(query) < 3:
        return []
    base_url = settings.ADDRESS_API_URL
    if not base_url:
        raise AddressServiceUnavailable(NOT_CONFIGURED_MESSAGE)
    try:
        response = _session().get(
            base_url.rstrip("/") + "/search/", params={"q": query, "limit": max(1, min(limit, 20))},
            timeout=settings.ADDRESS_API_TIMEOUT,
        )
        response.raise_for_status()
        features = response.json().get("features", [])
    except (requests.RequestException, ValueError, AttributeError):
        raise AddressServiceUnavailable() from None
    results = []
    for feature in features:
        try:
            properties = feature["properties"]
            longitude, latitude = feature["geometry"]["coordinates"][:2]
            results.append(Address(
                label=properties["label"], city_code=properties.get("citycode", ""),
                city_name=properties.get("city", ""), postcode=properties.get("postcode", ""),
                street_id=_street_id(properties), street_name=properties.get("street", "")
                if properties.get("type") == "housenumber" else properties.get("name", "")
                if properties.get("type") == "street" else "",
                latitude=float(latitude), longitude=float(longitude), score=float(properties.get("score", 0)),
                kind=properties.get("type", ""),
            ))
        except (KeyError, TypeError, ValueError, IndexError):
            continue  # one malformed feature does not hide the others
    return results


def geocode(query: str) -> Address | None:
    """The best match, or None when nothing matches. Raises :class:`AddressServiceUnavailable`."""
    results = search(query, limit=1)
    return results[0] if results else None
