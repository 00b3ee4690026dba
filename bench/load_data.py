"""Data of bench/load.py, run once in a process with the production environment of the bench
(``python -c "from bench.load_data import main; main(<sms port>)"``): the large generated administration of
bench/slots_data.py (200 agents, 1,000 availabilities, 100,000 appointments), its SMS provider pointed at the
bench's fake Brevo, and one agent with a password (administration admin) for the agenda. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys


def main(sms_port: int, password: str) -> None:
    import django

    django.setup()
    from django.db.models import Count
    from django_tenants.utils import tenant_context

    from bench import slots_data
    from messaging.models import MessagingSettings
    from scheduling.models import Agent, Availability
    from tenants.accounts.models import User

    large, _small, counts = slots_data.generate(reuse=False, log=lambda *a, **k: print(*a, file=sys.stderr))
    with tenant_context(large):
        settings_row = MessagingSettings.load()
        settings_row.sms_provider = "brevo"
        settings_row.sms_sender = "Mairie"
        settings_row.set_sms_credentials({"api_key": "bench", "base_url": f"http://127.0.0.1:{sms_port}"})
        settings_row.save()
        pairs = list(Availability.objects.filter(appointment_types__bookable_by="everyone", location__isnull=False)
                     .values_list("appointment_types", "location").annotate(n=Count("id")).order_by("-n")[:20])
        user = User.objects.create(email="agent-charge@bench-load.test", first_name="Agent", last_name="Charge",
                                   is_administration_admin=True)
        user.set_password(password)
        user.save(update_fields=["password"])
        agent = Agent.objects.filter(user__isnull=True).order_by("pk").first()
        agent.user = user
        agent.save(update_fields=["user"])
    print(json.dumps({"slug": large.slug, "schema": large.schema_name, "pairs": [[t, lo] for t, lo, _n in pairs],
                      "agent_email": user.email, "counts": counts}))
