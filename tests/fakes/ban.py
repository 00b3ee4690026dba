"""A local fake of the national address API (``/search/``) for tests: real HTTP, canned features.

    def test_x(httpserver, settings):
        ban = FakeBan(httpserver, settings)
        ban.add("20 avenue de Ségur Paris", city_code="75107", city="Paris", street_id="75107_8909", ...)
"""

from __future__ import annotations

import json
import unicodedata

from werkzeug.wrappers import Response


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(text.split())


class FakeBan:
    def __init__(self, httpserver, settings):
        self.httpserver = httpserver
        self.features: list[tuple[str, dict]] = []
        settings.ADDRESS_API_URL = httpserver.url_for("/")
        httpserver.expect_request("/search/").respond_with_handler(self._handle)

    def add(self, label, *, city_code, city, postcode="", street_id="", street="", housenumber="",
            lon=2.35, lat=48.85, kind=None, match=None):
        kind = kind or ("housenumber" if housenumber else "street" if street_id else "municipality")
        identifier = f"{street_id}_{housenumber.zfill(5)}" if kind == "housenumber" else street_id or city_code
        properties = {"label": label, "score": 0.9, "id": identifier, "type": kind, "name": street or city,
                      "postcode": postcode, "citycode": city_code, "city": city}
        if housenumber:
            properties |= {"housenumber": housenumber, "street": street}
        feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                   "properties": properties}
        self.features.append((_norm(match or label), feature))  # matched when every word of q is in it

    def _handle(self, request):
        query = _norm(request.args.get("q", ""))
        limit = int(request.args.get("limit", 5))
        words = set(query.split())
        hits = [feature for key, feature in self.features if words and words <= set(key.split())][:limit]
        return Response(json.dumps({"type": "FeatureCollection", "features": hits}),
                        content_type="application/json")
