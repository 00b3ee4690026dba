from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Administration
from tenants.services import administration_create


def french_errors(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        lines = []
        for field, messages in error.message_dict.items():
            label = {"__all__": ""}.get(field, f"--{field.replace('_', '-')} : ")
            lines.extend(f"{label}{message}" for message in messages)
        return "\n".join(lines)
    return "\n".join(error.messages)


class Command(BaseCommand):
    help = "Crée une administration (schéma, sous-domaine, invitation du premier administrateur)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Nom affiché, ex. « Département de la Drôme »")
        parser.add_argument("--slug", required=True, help="Sous-domaine : minuscules, chiffres, tirets")
        parser.add_argument("--kind", required=True, choices=[k for k, _ in Administration.Kind.choices])
        parser.add_argument("--timezone", default="Europe/Paris", help="Fuseau IANA, ex. Indian/Reunion")
        parser.add_argument("--admin-email", required=True, help="E-mail du premier administrateur")

    def handle(self, *args, **options):
        try:
            administration = administration_create(
                name=options["name"], kind=options["kind"], slug=options["slug"],
                timezone_name=options["timezone"], first_admin_email=options["admin_email"],
                provision="sync",
            )
        except ValidationError as error:
            raise CommandError("Administration non créée :\n" + french_errors(error)) from None
        if administration.status != Administration.Status.ACTIVE:
            raise CommandError(f"La création du schéma a échoué : {administration.status_reason}")
        self.stdout.write(self.style.SUCCESS(
            f"Administration « {administration.name} » active sur {administration.url()} ; "
            f"invitation envoyée à {administration.first_admin_email}."
        ))
