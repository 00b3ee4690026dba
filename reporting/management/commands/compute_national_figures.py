"""Compute the national public statistics now (what the nightly job does), e.g. after `make run`'s demo data."""

from django.core.management.base import BaseCommand

from reporting.national import compute_national_figures


class Command(BaseCommand):
    help = "Calcule les statistiques nationales publiques (agrégats anonymes de toutes les administrations actives)."

    def handle(self, *args, **options):
        result = compute_national_figures()
        self.stdout.write(
            f"{result['administrations']} administration(s) lue(s), {result['rows']} ligne(s) écrite(s), "
            f"{result['deleted']} supprimée(s)."
        )
        if result["failed"]:
            self.stderr.write(f"Échec (voir les journaux) : {', '.join(result['failed'])}")
