from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from tenants.models import Administration


class Command(BaseCommand):
    help = "Vérifie qu'un worker Celery exécute les tâches dans le schéma de l'administration donnée."

    def add_arguments(self, parser):
        parser.add_argument("--administration", required=True, help="Identifiant (sous-domaine)")
        parser.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args, **options):
        from celery.exceptions import TimeoutError as CeleryTimeout

        from tenants.tasks import administration_ping

        administration = Administration.objects.filter(slug=options["administration"]).first()
        if administration is None or not administration.is_usable:
            raise CommandError(f"Aucune administration active « {options['administration']} ».")
        with tenant_context(administration):
            result = administration_ping.delay()
        try:
            answer = result.get(timeout=options["timeout"])
        except CeleryTimeout:
            raise CommandError("Aucun worker n'a répondu dans le délai imparti.") from None
        if answer["schema"] != administration.schema_name:
            raise CommandError(
                f"Le worker a utilisé le schéma {answer['schema']} au lieu de {administration.schema_name}."
            )
        self.stdout.write(self.style.SUCCESS(f"Worker OK : schéma {answer['schema']} ({answer['administration']})."))
