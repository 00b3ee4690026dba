from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """User accounts. Installed in the public schema (console staff) and in every administration's
    schema (its agents): an account exists only where it was created."""

    name = "tenants.accounts"
    label = "accounts"
    verbose_name = "Comptes"
