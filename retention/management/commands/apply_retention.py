"""Apply the retention rules in one administration's schema, or report what they would do:

    manage.py tenant_command apply_retention --schema=<schema> --dry-run
    manage.py all_tenants_command apply_retention --dry-run   (every administration)
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from retention.services import retention_apply


class Command(BaseCommand):
    help = "Conservation des données (RGPD) : applique les durées de conservation (ou les simule avec --dry-run)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Compter sans rien modifier.")

    def handle(self, *args, dry_run=False, **options):
        if connection.schema_name == "public":
            raise CommandError("Choisissez une administration : manage.py tenant_command apply_retention "
                               "--schema=<schéma> [--dry-run]")
        report = retention_apply(dry_run=dry_run)
        title = "Simulation (rien n'est modifié)" if dry_run else "Conservation appliquée"
        self.stdout.write(f"{title} — schéma {connection.schema_name}")
        for line in report.lines():
            self.stdout.write(f"  {line}")
