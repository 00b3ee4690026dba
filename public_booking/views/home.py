"""The usager's pages, one module per part: ``home`` (the administration's front page), ``journey``
(find a service by address, book), ``self_service`` (manage an appointment, waiting list, account,
collective sessions, prescripteurs, invitations)."""
from django.shortcuts import render

from scheduling.models import AppointmentType, Service


def home(request):
    """The administration's front page: "Prendre rendez-vous", a direct link per service bookable online, and
    the agents' sign-in."""
    services = Service.objects.filter(
        appointment_types__bookable_by=AppointmentType.BookableBy.EVERYONE,
        appointment_types__archived_at__isnull=True, appointment_types__collective=False,
    ).distinct().order_by("name")
    return render(request, "public_booking/home.html", {"services": services})
