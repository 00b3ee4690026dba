"""JSON bodies of API v1: DRF's parser, with a body nested too deeply for Python's decoder (a RecursionError,
not a ValueError) answered as the 400 of any other malformed JSON instead of a server error."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON invalide : le corps de la requête est imbriqué trop profondément.") from None
