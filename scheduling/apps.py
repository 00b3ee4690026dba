from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Prise de rendez-vous"

    def ready(self):
        from . import slot_cache

        slot_cache.connect_receivers()
        from tenants.selectors import count_rows, register_counter

        from .models import Agent, Appointment

        # The console's administration list shows these figures of each schema.
        register_counter("agents", lambda schema: count_rows(schema, Agent._meta.db_table, "deleted_at IS NULL"))
        register_counter("appointments", lambda schema: count_rows(schema, Appointment._meta.db_table))
