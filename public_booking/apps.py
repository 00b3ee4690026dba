from django.apps import AppConfig


class PublicBookingConfig(AppConfig):
    name = "public_booking"
    verbose_name = "Réservation en ligne"
