"""Configure (or remove) FranceConnect for one administration: the ``SocialApp`` of its schema."""

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator
from django_tenants.utils import tenant_context

from tenants.models import Administration


class Command(BaseCommand):
    help = ("Configure FranceConnect pour une administration (identifiant client, secret lu dans la variable "
            "d'environnement FRANCECONNECT_SECRET, URL du fournisseur), ou le retire avec --retirer.")

    def add_arguments(self, parser):
        parser.add_argument("--administration", required=True, help="Identifiant (sous-domaine)")
        parser.add_argument("--client-id", default="")
        parser.add_argument("--server-url", default="",
                            help="ex. https://fcp.integ01.dev-franceconnect.fr/api/v1 (sans /.well-known/...)")
        parser.add_argument("--retirer", action="store_true", help="Retire FranceConnect de cette administration")

    def handle(self, *args, **options):
        from tenants.accounts import franceconnect

        administration = Administration.objects.filter(slug=options["administration"]).first()
        if administration is None or not administration.is_usable:
            raise CommandError(f"Aucune administration active « {options['administration']} ».")
        with tenant_context(administration):
            if options["retirer"]:
                removed = franceconnect.remove()
                self.stdout.write("FranceConnect retiré." if removed else "FranceConnect n'était pas configuré.")
                return
            secret = os.environ.get("FRANCECONNECT_SECRET", "")
            client_id, server_url = options["client_id"].strip(), options["server_url"].strip()
            if not client_id or not secret:
                raise CommandError("Indiquez --client-id et la variable d'environnement FRANCECONNECT_SECRET.")
            try:
                URLValidator(schemes=["https", "http"])(server_url)
            except ValidationError:
                raise CommandError("--server-url doit être une adresse https:// valide.") from None
            franceconnect.configure(client_id=client_id, secret=secret, server_url=server_url)
        self.stdout.write(f"FranceConnect configuré pour {administration.name}.")
