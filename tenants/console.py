"""The super-admin console (Django admin) on the platform host: operators onboard administrations,
support staff find them, suspend them and sign in as their agents.

Access needs three things: an active staff account with a console role (operator or support, or a
superuser), a session signed in through allauth, and a second factor used in that session (allauth
records it as an authentication record with method ``mfa``). The console has no login form of its
own: its login URL sends people to allauth and to the right step:

- anonymous: allauth's sign-in page (password, then the TOTP code for accounts that have one);
- a console account without TOTP: allauth's TOTP activation page. Activating does not record an
  ``mfa`` authentication (allauth only records the factor when it is *used* to authenticate), so the
  next visit goes to the step below;
- a console account with TOTP whose session did not use it (signed in before activating): allauth's
  MFA re-authentication page, where the code is typed once and recorded for the session;
- anyone else signed in (no console role, inactive, not staff): a French 403 page.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def session_used_mfa(request) -> bool:
    """True when a second factor was used to authenticate in this session."""
    from allauth.account.authentication import get_authentication_records

    # The records are bound to the user they were made for: pass the user, or allauth returns none.
    records = get_authentication_records(request, getattr(request, "user", None))
    return any(record.get("method") == "mfa" for record in records)


def is_console_user(user) -> bool:
    """An active staff account with a console role (a superuser has both roles)."""
    return bool(
        user is not None and user.is_authenticated and user.is_active and user.is_staff
        and (user.is_operator or user.is_support)
    )


def has_totp(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}"


class ConsoleSite(admin.AdminSite):
    site_header = "Console RDV Service Public"
    site_title = "Console RDV Service Public"
    index_title = "Administrations et support"
    enable_nav_sidebar = False

    def admin_view(self, view, cacheable=False):
        """Every console page: a refused action gets the console's French 403 page."""
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def guarded(request, *args, **kwargs):
            try:
                return inner(request, *args, **kwargs)
            except PermissionDenied:
                return self.forbidden(request)

        return guarded

    def forbidden(self, request):
        return render(request, "admin/console_forbidden.html", self.each_context(request), status=403)

    def has_permission(self, request):
        return is_console_user(request.user) and session_used_mfa(request)

    def _safe_next(self, request) -> str:
        next_url = request.GET.get("next") or request.POST.get("next") or ""
        if next_url and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return next_url
        return reverse("admin:index", current_app=self.name)

    def login(self, request, extra_context=None):
        """Send the visitor to the allauth step they are missing (see the module docstring)."""
        next_url = self._safe_next(request)
        user = request.user
        if not user.is_authenticated:
            return redirect(_with_next(reverse("account_login"), next_url))
        if not is_console_user(user):
            return self.forbidden(request)
        if session_used_mfa(request):
            return redirect(next_url)
        if not has_totp(user):
            messages.info(
                request,
                "La console exige une double authentification. Activez une application "
                "d'authentification (TOTP) pour continuer.",
            )
            return redirect(_with_next(reverse("mfa_activate_totp"), next_url))
        messages.info(request, "Saisissez le code de votre application d'authentification pour accéder à la console.")
        return redirect(_with_next(reverse("mfa_reauthenticate"), next_url))


console_site = ConsoleSite(name="admin")
