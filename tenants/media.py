"""Uploaded files are stored under MEDIA_ROOT/<schema>/ and served only on their own host."""

import mimetypes
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import FileResponse, Http404


def tenant_media_root() -> Path:
    return Path(settings.MEDIA_ROOT) / connection.schema_name


def serve_tenant_media(request, path):
    root = tenant_media_root().resolve()
    # The tenant storage's URLs carry the schema (/media/<schema>/branding/logo.png), its files live
    # in MEDIA_ROOT/<schema>/branding/logo.png: accept both spellings, still only under this root.
    path = path.removeprefix(f"{connection.schema_name}/")
    try:
        candidate = (root / path).resolve()
        found = root in candidate.parents and candidate.is_file()
    except (ValueError, OSError):  # a NUL byte or an over-long name in the URL
        found = False
    if not found:
        raise Http404("Fichier introuvable.")
    content_type, _ = mimetypes.guess_type(candidate.name)
    response = FileResponse(candidate.open("rb"), content_type=content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response
