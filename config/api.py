"""API-wide behaviour shared by every endpoint."""

from django.http import Http404
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """DRF's handler, with one French message for "not found" whatever the model: it must not tell
    an integrator whether an id exists elsewhere."""
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, Http404):
        response.data = {"detail": "Ressource introuvable."}
    return response
