from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core.management.base import BaseCommand

from .bootstrap_demo import DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "Affiche le code TOTP actuel des comptes de démonstration de la console (développement)."

    def handle(self, *args, **options):
        counters = list(yield_hotp_counters_from_time())
        self.stdout.write(format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counters[len(counters) // 2])))
