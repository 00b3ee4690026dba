"""Idempotent demo data for `make run`: console accounts and two demo administrations."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context, tenant_context

from tenants.accounts.models import User
from tenants.models import Administration
from tenants.services import administration_create
from tenants.urls_helpers import absolute_url, platform_url

DEMO_PASSWORD = "Demo-rdv-2026!"
# Fixed TOTP secret of the demo console accounts, for an authenticator app (development only).
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CONSOLE_ACCOUNTS = [
    ("operateur@rdv.localhost", "Olivia", "Opératrice", User.ConsoleRole.OPERATOR),
    ("support@rdv.localhost", "Samuel", "Support", User.ConsoleRole.SUPPORT),
]
DEMO_ADMINISTRATIONS = [
    ("demo-departement", "Département de démonstration", Administration.Kind.DEPARTEMENT, "Europe/Paris"),
    ("demo-mairie", "Mairie de démonstration", Administration.Kind.COMMUNE, "Europe/Paris"),
]


def ensure_user(email, *, first_name, last_name, password, **fields):
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, first_name=first_name, last_name=last_name, **fields)
        user.set_password(password)
        user.save()
    return user


def ensure_totp(user, secret):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, secret)


class Command(BaseCommand):
    help = "Crée (si besoin) les comptes de la console et les administrations de démonstration."

    def add_arguments(self, parser):
        parser.add_argument("--summary-only", action="store_true", help="N'affiche que les adresses et comptes.")

    def handle(self, *args, **options):
        if not options["summary_only"]:
            self._bootstrap()
        self._summary()

    def _bootstrap(self):
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            for email, first, last, role in CONSOLE_ACCOUNTS:
                user = ensure_user(email, first_name=first, last_name=last, password=DEMO_PASSWORD,
                                   is_staff=True, console_role=role)
                ensure_totp(user, DEMO_TOTP_SECRET)
            for slug, name, kind, tz in DEMO_ADMINISTRATIONS:
                administration = Administration.objects.filter(slug=slug).first()
                if administration is None:
                    self.stdout.write(f"==> Création de {name} ({slug})")
                    administration = administration_create(
                        name=name, kind=kind, slug=slug, timezone_name=tz,
                        first_admin_email=f"admin@{slug}.localhost", provision="sync",
                    )
                elif administration.status in (Administration.Status.PENDING, Administration.Status.FAILED):
                    from tenants.services import administration_provision

                    administration = administration_provision(administration_id=administration.pk)
                with tenant_context(administration):
                    admin = User.objects.get(email=f"admin@{slug}.localhost")
                    if not admin.has_usable_password():
                        admin.first_name, admin.last_name = "Alice", "Administratrice"
                        admin.set_password(DEMO_PASSWORD)
                        admin.save()
                    agent = ensure_user(f"agent@{slug}.localhost", first_name="Bruno", last_name="Agent",
                                        password=DEMO_PASSWORD)
                    from scheduling.demo import demo_populate

                    if demo_populate(kind=kind, timezone_name=tz, users={"admin": admin, "agent": agent}):
                        self.stdout.write(f"==> Contenu de démonstration ajouté à {name}")
        # The national public statistics show the demo's figures at once instead of after the nightly job.
        from reporting.national import compute_national_figures

        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            compute_national_figures()

    def _summary(self):
        lines = [
            "",
            "RDV Service Public tourne en local.",
            f"  Plateforme et console : {platform_url('/')}  (console : {platform_url('/console/')})",
        ]
        for email, _, _, role in CONSOLE_ACCOUNTS:
            lines.append(f"    {role:<9} {email} / {DEMO_PASSWORD}")
        lines.append(f"    Code TOTP : secret {DEMO_TOTP_SECRET} (ou « make totp »)")
        for slug, name, *_ in DEMO_ADMINISTRATIONS:
            host = f"{slug}.{settings.BASE_DOMAIN}"
            lines.append(f"  {name} : {absolute_url(host, '/')}")
            lines.append(f"    admin   admin@{slug}.localhost / {DEMO_PASSWORD}")
            lines.append(f"    agent   agent@{slug}.localhost / {DEMO_PASSWORD}")
        lines.append("  E-mails envoyés : dans ce terminal et dans la console, « E-mails (développement) ».")
        lines.append("  Ctrl-C arrête tout.")
        self.stdout.write("\n".join(lines))
