from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def agents_home(request):
    return render(request, "scheduling/agents_home.html")
