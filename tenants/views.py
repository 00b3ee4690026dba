import sys

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.template.loader import render_to_string

from .impersonation import impersonation_end, impersonation_enter
from .models import Administration
from .urls_helpers import platform_url


def platform_home(request):
    administrations = (
        Administration.objects.filter(status=Administration.Status.ACTIVE).order_by("name").only(
            "name", "kind", "slug"
        )
    )
    return render(request, "platform/home.html", {"administrations": administrations})


def impersonation_enter_view(request, token):
    try:
        impersonation_enter(request=request, token=token)
    except ValidationError as error:
        return render(request, "errors/impersonation_invalid.html", {"message": error.messages[0]}, status=403)
    return redirect("agents_home")


@login_required
def impersonation_end_view(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    impersonation_end(request=request, end_reason="manuelle")
    return redirect(platform_url("/console/"))


def csrf_failure(request, reason=""):
    return render(request, "errors/csrf.html", status=403)


def bad_request(request, exception=None):
    return render(request, "errors/400.html", status=400)


def forbidden(request, exception=None):
    message = str(exception) if exception and str(exception) else ""
    return render(request, "errors/403.html", {"message": message}, status=403)


def not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    """The 500 handler. Rendered without the request's context processors (they may need the database that
    just failed). A lost or refused database connection (PostgreSQL restarting) is a 503 with Retry-After:
    the next request opens a fresh connection."""
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)):
        response = HttpResponse(render_to_string("errors/503.html"), status=503)
        response["Retry-After"] = "5"
        return response
    return HttpResponse(render_to_string("errors/500.html"), status=500)
