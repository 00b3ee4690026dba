from django.shortcuts import render


def home(request):
    """The administration's front page: who it is, and the agents' sign-in."""
    return render(request, "public_booking/home.html")
