"""The trivial page measured by bench/tenancy.py: no template, no database, no session."""

from django.http import HttpResponse


def ping(request):
    return HttpResponse(b"ok\n", content_type="text/plain")
