"""The agents' back office (HTML, under ``/agents/``), one module per area:

- ``home``: the agent's home and the appointment page;
- ``agenda``: day/week agenda, appointment list, actions on an appointment;
- ``booking``: "Trouver un créneau" and the booking wizard, collective sessions;
- ``administration``: availability, absences, types, locations, services, agents, teams, settings;
- ``citizens``: usager records; ``settings``: the agent's own settings.

Every view resolves the agent's scope with :func:`scheduling.views.common.agent_view` and reads through
the policy layer, so an agent sees here exactly what the API would show him.
"""
