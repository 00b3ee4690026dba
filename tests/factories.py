"""Factories shared by the whole suite. Objects are created in the schema that is current when the
factory runs: wrap calls in ``tenant_context(administration)`` for an administration's data."""

import factory
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP

from tenants.accounts.models import User

PASSWORD = "Mot-de-passe-de-test-2026"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agent{n}@exemple.fr")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


class AdminAgentFactory(UserFactory):
    is_administration_admin = True


class ConsoleUserFactory(UserFactory):
    is_staff = True
    console_role = User.ConsoleRole.SUPPORT

    @factory.post_generation
    def totp(self, create, extracted, **kwargs):
        if create and extracted is not False:
            if not Authenticator.objects.filter(user=self, type=Authenticator.Type.TOTP).exists():
                TOTP.activate(self, TOTP_SECRET)
