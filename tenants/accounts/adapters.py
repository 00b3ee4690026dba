import secrets
from functools import partial

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.crypto import constant_time_compare

from tenants.accounts import franceconnect


class AccountAdapter(DefaultAccountAdapter):
    """Agents are invited by an admin and console staff are created by the platform: nobody signs
    themselves up on these hosts."""

    def is_open_for_signup(self, request):
        return False

    def get_login_redirect_url(self, request):
        """Usagers (an account with a usager record and no agent profile) land on their appointments, other
        accounts on the agents' space, console staff on the console (unless ``next`` said otherwise).
        Reverse one-to-one accessors: no import of the product's apps here."""
        if getattr(request, "tenant", None) is not None:
            user = request.user
            if getattr(user, "agent", None) is None and getattr(user, "citizen", None) is not None:
                return "/mes-rendez-vous/"
            return "/agents/"
        return "/console/"

    def login(self, request, user):
        super().login(request, user)
        franceconnect.remember_id_token(request)

    def get_logout_redirect_url(self, request):
        """A FranceConnect session also ends at FranceConnect (allauth asks before flushing the session)."""
        return franceconnect.end_session_url(request) or super().get_logout_redirect_url(request)

    def get_signup_redirect_url(self, request):
        """Only FranceConnect signs usagers up through allauth: they land where a sign-in would take them."""
        return self.get_login_redirect_url(request)


def is_usager_account(user) -> bool:
    """An account of a usager only: a live usager record, no agent profile, no console or admin rights."""
    if user is None or user.is_staff or user.is_superuser or getattr(user, "is_administration_admin", False):
        return False
    citizen = getattr(user, "citizen", None)
    return getattr(user, "agent", None) is None and citizen is not None and citizen.deleted_at is None


def _refuse(request, message: str, *, status: int = 403):
    """Stop the FranceConnect sign-in with a French explanation; nothing is created or linked."""
    raise ImmediateHttpResponse(render(request, "socialaccount/franceconnect_refused.html",
                                       {"message": message}, status=status))


AGENT_REFUSED = ("Les comptes des agents ne peuvent pas se connecter avec FranceConnect. Connectez-vous avec "
                 "votre adresse e-mail et votre mot de passe.")


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Social sign-in exists for usagers through FranceConnect only (docs/decisions/0017)."""

    def get_provider(self, request, provider, client_id=None):
        instance = super().get_provider(request, provider, client_id=client_id)
        app = getattr(instance, "app", None)
        if app is not None and app.provider == franceconnect.PROVIDER and app.provider_id == franceconnect.PROVIDER_ID:
            instance = franceconnect.FranceConnectProvider(request, app=app)
            match = getattr(request, "resolver_match", None)
            if match is not None and match.url_name in ("openid_connect_login", "openid_connect_callback") \
                    and not franceconnect.check_reachable(instance):
                _refuse(request, franceconnect.UNREACHABLE, status=503)
        return instance

    def get_requests_session(self):
        """allauth's HTTP session, which also notes the raw id_token FranceConnect needs back at logout."""
        session = super().get_requests_session()
        session.hooks["response"].append(partial(franceconnect.keep_id_token, self.request or context.request))
        return session

    def generate_state_param(self, state: dict) -> str:
        return secrets.token_urlsafe(32)

    def is_open_for_signup(self, request, sociallogin):
        return sociallogin.account.provider == franceconnect.PROVIDER_ID

    def can_authenticate_by_email(self, login, email):
        """A FranceConnect sign-in whose e-mail FranceConnect says is verified joins the usager account of that
        e-mail (allauth wipes its password when the account's own address was never verified)."""
        return login.account.provider == franceconnect.PROVIDER_ID

    def pre_social_login(self, request, sociallogin):
        if sociallogin.account.provider != franceconnect.PROVIDER_ID:
            _refuse(request, "Ce mode de connexion n'est pas proposé.")
        data = sociallogin.account.extra_data or {}
        expected = (sociallogin.state or {}).get(franceconnect.NONCE_STATE_KEY) or ""
        received = (data.get("id_token") or {}).get("nonce") or ""
        if not expected or not constant_time_compare(expected, received):
            _refuse(request, "La connexion avec FranceConnect n'a pas pu être vérifiée. Recommencez depuis la page "
                             "de connexion.", status=400)
        connecting = sociallogin.state.get("process") == "connect"
        user = sociallogin.user if sociallogin.is_existing else None
        if connecting:
            if not request.user.is_authenticated:
                _refuse(request, "Connectez-vous d'abord à votre compte pour le lier à FranceConnect.")
            if user is not None and user.pk != request.user.pk:
                _refuse(request, "Cette identité FranceConnect est déjà liée à un autre compte.", status=409)
            user = request.user
        if user is not None:
            if not is_usager_account(user):
                _refuse(request, AGENT_REFUSED)
            citizen = user.citizen
            changed = franceconnect.apply_identity(citizen, franceconnect.claims(data), new=False)
            if changed:
                citizen.save(update_fields=changed)
            return
        email = sociallogin.email_addresses[0].email if sociallogin.email_addresses else ""
        existing = get_user_model().objects.filter(email__iexact=email).first() if email else None
        if existing is None:
            return  # a new usager: allauth signs him up (save_user)
        if not is_usager_account(existing):
            _refuse(request, AGENT_REFUSED)
        # The address is not certified by FranceConnect: whoever holds the account must prove it first.
        messages.info(request, "Un compte existe déjà avec l'adresse e-mail donnée par FranceConnect. Connectez-vous "
                               "avec votre mot de passe, puis liez FranceConnect depuis la page « Mon compte ».")
        raise ImmediateHttpResponse(redirect("account_login"))

    def save_user(self, request, sociallogin, form=None):
        """The first FranceConnect sign-in creates the account and its usager record from the certified identity."""
        from scheduling.models import Citizen

        with transaction.atomic():
            user = super().save_user(request, sociallogin, form=form)
            citizen = Citizen(account=user)
            franceconnect.apply_identity(citizen, franceconnect.claims(sociallogin.account.extra_data), new=True)
            citizen.email = citizen.email or user.email
            citizen.save()
        return user

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        identity = franceconnect.claims(sociallogin.account.extra_data)
        user.first_name = (identity.get("given_name") or "")[:150]
        user.last_name = ((identity.get("preferred_username") or identity.get("family_name")) or "")[:150]
        return user

    def get_connect_redirect_url(self, request, socialaccount):
        return "/mon-compte/"

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        if error == "cancelled":
            message = "Vous avez annulé la connexion avec FranceConnect. Aucun compte n'a été créé ni modifié."
        else:
            message = ("La connexion avec FranceConnect a échoué. Aucun compte n'a été créé ni modifié. "
                       "Recommencez depuis la page de connexion.")
        _refuse(request, message, status=400)
