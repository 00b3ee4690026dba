"""The agent's own settings: notification level, and links to the calendar feed, the API token, the
password and the second factor pages."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from .. import services
from ..forms.settings import NotificationLevelForm
from .common import agent_view


@agent_view
def agent_settings(request):
    agent = request.scope.agent
    form = NotificationLevelForm(request.POST or None, initial={"notification_level": agent.notification_level})
    if request.method == "POST" and form.is_valid():
        try:
            services.agent_notification_level_set(agent=agent, level=form.cleaned_data["notification_level"])
        except ValidationError as error:
            form.add_error("notification_level", error.messages)
        else:
            messages.success(request, "Vos préférences de notification sont enregistrées.")
            return redirect("agent_settings")
    return render(request, "scheduling/settings/index.html", {"form": form, "agent": agent},
                  status=400 if form.errors else 200)
