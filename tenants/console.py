"""The super-admin console (Django admin) on the platform host: operators onboard administrations,
support staff find them, suspend them and sign in as their agents. A second factor is required."""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse


def session_used_mfa(request) -> bool:
    from allauth.account.authentication import get_authentication_records

    return any(record.get("method") == "mfa" for record in get_authentication_records(request))


class ConsoleSite(admin.AdminSite):
    site_header = "Console RDV Service Public"
    site_title = "Console"
    index_title = "Administrations et support"

    def has_permission(self, request):
        user = request.user
        return bool(
            user.is_active and user.is_staff and (user.is_operator or user.is_support) and session_used_mfa(request)
        )

    def login(self, request, extra_context=None):
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not session_used_mfa(request):
            from allauth.mfa.models import Authenticator

            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                return redirect(reverse("mfa_activate_totp") + "?next=" + reverse("admin:index"))
        return redirect(reverse("account_login") + "?next=" + request.get_full_path().replace("login/", ""))


console_site = ConsoleSite(name="admin")
