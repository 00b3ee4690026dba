"""What every back-office view shares: the agent's scope on the request, admin-only views."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from .. import policy

ADMIN_ONLY_MESSAGE = "Cette page est réservée aux administrateurs de l'organisation."


def agent_view(view=None, *, admin: bool = False):
    """Signed-in agent with a profile here (else 403 in French); ``request.scope`` is his scope.
    ``admin=True``: he must be admin of at least one organisation (object-level checks stay in the view)."""

    def decorate(func):
        @login_required
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            scope = policy.scope_for_request(request)
            if scope is None:
                raise PermissionDenied(policy.NO_AGENT_PROFILE_MESSAGE)
            if admin and not scope.admin_organisation_ids:
                raise PermissionDenied(ADMIN_ONLY_MESSAGE)
            request.scope = scope
            return func(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
