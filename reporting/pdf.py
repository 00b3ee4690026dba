"""HTML to PDF with WeasyPrint, offline.

WeasyPrint is imported inside ``render_pdf`` only: its import alone costs most of a second, which neither
the test suite nor a web process should pay unless it actually renders a PDF.

Resources are never fetched from the network: the URL fetcher serves our static files (found through
Django's staticfiles finders, as ``{% static %}`` spells them) and ``data:`` URIs (the administration's
logo is embedded that way), and refuses everything else (http, https, file, ftp...). A refused resource is
simply left out of the document; it never fails the rendering.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
from urllib.parse import unquote, urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

# Relative URLs of the templates ("/static/...") resolve against this origin, which only the fetcher knows.
LOCAL_ORIGIN = "https://pdf.rdv.invalid"
LOGO_MAX_BYTES = 1024 * 1024  # a larger logo is left out of the documents


class ResourceRefused(ValueError):
    """A document asked for a resource outside our static files: never fetched."""


def static_file(url: str) -> tuple[bytes, str]:
    """(content, media type) of one of our static files named by ``url``; ResourceRefused otherwise."""
    from django.contrib.staticfiles import finders

    parts = urlsplit(url)
    prefix = settings.STATIC_URL
    if f"{parts.scheme}://{parts.netloc}" != LOCAL_ORIGIN or not parts.path.startswith(prefix):
        raise ResourceRefused(f"Ressource refusée (hors des fichiers statiques) : {url[:200]}")
    relative = unquote(parts.path[len(prefix):])
    if not relative or ".." in relative.split("/"):
        raise ResourceRefused(f"Ressource refusée : {url[:200]}")
    found = finders.find(relative)
    if not found:
        raise ResourceRefused(f"Fichier statique introuvable : {relative[:200]}")
    content_type, _ = mimetypes.guess_type(found)
    with open(found, "rb") as handle:
        return handle.read(), content_type or "application/octet-stream"


def _fetcher():
    """A WeasyPrint URL fetcher serving static files and data: URIs only (built lazily, like the import)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)  # decoded in memory by urllib's DataHandler
            content, content_type = static_file(url)
            return URLFetcherResponse(url, content, {"Content-Type": content_type})

    return StaticOnlyFetcher(timeout=1, allowed_protocols=("data", "https"), allow_redirects=False)


def render_pdf(html: str, base_url: str = f"{LOCAL_ORIGIN}/") -> bytes:
    """The PDF of ``html`` (a complete page with its print CSS). Relative URLs resolve against ``base_url``."""
    from weasyprint import HTML  # lazily: see the module's docstring

    # PDF/UA-1: a tagged PDF (structure, reading order, language, title) that screen readers can follow.
    return HTML(string=html, base_url=base_url, url_fetcher=_fetcher()).write_pdf(pdf_variant="pdf/ua-1")


def file_data_uri(field_file) -> str:
    """A stored file (the administration's logo) as a data: URI, or "" when absent, unreadable or too large."""
    if not field_file:
        return ""
    try:
        if field_file.size > LOGO_MAX_BYTES:
            return ""
        with field_file.open("rb") as handle:
            content = handle.read()
    except (OSError, ValueError):
        logger.warning("Logo unreadable for the PDF: %s", field_file.name)
        return ""
    content_type, _ = mimetypes.guess_type(field_file.name)
    if not content_type or not content_type.startswith("image/"):
        return ""
    return f"data:{content_type};base64,{base64.b64encode(content).decode()}"
