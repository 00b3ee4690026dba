from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Notifications"

    def ready(self):
        from . import receivers, webhook_events

        receivers.connect()
        webhook_events.connect()
