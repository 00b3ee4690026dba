from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from tenants.models import Administration


class Command(BaseCommand):
    help = "Crée (ou affiche) le jeton d'API d'un agent d'une administration."

    def add_arguments(self, parser):
        parser.add_argument("--administration", required=True, help="Identifiant (sous-domaine)")
        parser.add_argument("--agent-email", required=True)

    def handle(self, *args, **options):
        from rest_framework.authtoken.models import Token

        from tenants.accounts.models import User

        administration = Administration.objects.filter(slug=options["administration"]).first()
        if administration is None or not administration.is_usable:
            raise CommandError(f"Aucune administration active « {options['administration']} ».")
        with tenant_context(administration):
            user = User.objects.filter(email=options["agent_email"].strip().lower(), is_active=True).first()
            if user is None:
                raise CommandError(f"Aucun agent actif « {options['agent_email']} » dans {administration.name}.")
            token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
