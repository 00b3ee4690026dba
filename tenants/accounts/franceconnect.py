"""FranceConnect for usagers, through allauth's ``openid_connect`` provider (docs/decisions/0017).

Each administration that offers it has a ``SocialApp`` in its own schema (provider ``openid_connect``,
provider_id ``franceconnect``). allauth's provider is used as is, with the three things FranceConnect
requires and allauth's generic OpenID Connect does not send: its scopes, ``acr_values=eidas1`` and a
``nonce`` (random per sign-in, kept in allauth's state and checked against the id_token by the adapter).
"""

from __future__ import annotations

import secrets
from datetime import date

from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider

PROVIDER = "openid_connect"
PROVIDER_ID = "franceconnect"
SCOPE = ["openid", "given_name", "family_name", "preferred_username", "birthdate", "gender", "birthplace", "email"]
ACR_VALUES = "eidas1"
NONCE_STATE_KEY = "franceconnect_nonce"
# Fields of the usager record that come from the certified identity and that the usager cannot change.
CERTIFIED_FIELDS = ("first_name", "birth_name", "birth_date")


class FranceConnectProvider(OpenIDConnectProvider):
    """allauth's OpenID Connect provider, with FranceConnect's scope, acr_values and nonce."""

    def get_default_scope(self):
        return list(SCOPE)

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None)
        auth_params = dict(self.get_auth_params() if auth_params is None else auth_params)
        auth_params.update({"nonce": nonce, "acr_values": ACR_VALUES})
        # Extra keyword arguments end up in allauth's stashed state (checked in the adapter's pre_social_login).
        return super().redirect(request, process, next_url, data, auth_params=auth_params,
                                **{NONCE_STATE_KEY: nonce}, **kwargs)


UNREACHABLE = ("FranceConnect ne répond pas pour le moment. Réessayez dans quelques minutes ou connectez-vous avec "
               "votre adresse e-mail et votre mot de passe.")


def check_reachable(provider) -> bool:
    """Whether the provider's discovery document answers (allauth reads it outside its error handling)."""
    import requests
    from allauth.socialaccount.adapter import get_adapter

    try:
        with get_adapter().get_requests_session() as session:
            response = session.get(provider.server_url)
            response.raise_for_status()
            response.json()
    except (requests.RequestException, ValueError):
        return False
    return True


def app_for(request):
    """This administration's FranceConnect application (its schema's ``SocialApp``), or None."""
    from allauth.socialaccount.models import SocialApp

    if getattr(request, "tenant", None) is None or getattr(request.tenant, "schema_name", "public") == "public":
        return None
    return SocialApp.objects.filter(provider=PROVIDER, provider_id=PROVIDER_ID).only("pk").first()


def is_certified(user) -> bool:
    """Whether this account's identity comes from FranceConnect (a FranceConnect social account is linked)."""
    from allauth.socialaccount.models import SocialAccount

    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return SocialAccount.objects.filter(user=user, provider=PROVIDER_ID).exists()


def claims(extra_data: dict) -> dict:
    """The identity claims of a FranceConnect sign-in (userinfo first, then the id_token)."""
    merged = dict(extra_data.get("id_token") or {})
    merged.update(extra_data.get("userinfo") or {})
    return merged


def parse_birthdate(value) -> date | None:
    """FranceConnect's ``birthdate`` (YYYY-MM-DD); partial or invalid dates give None."""
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        return None


def apply_identity(citizen, data: dict, *, new: bool) -> list[str]:
    """Copy the certified identity onto the usager record; returns the fields changed (not saved).

    FranceConnect's ``family_name`` is the birth name; ``preferred_username`` the usage name when there is
    one. The usage name (``last_name``) stays the usager's to change, as in RDV Service Public."""
    changed = []
    values = {
        "first_name": (data.get("given_name") or "").strip()[:150],
        "birth_name": (data.get("family_name") or "").strip()[:150],
        "birth_date": parse_birthdate(data.get("birthdate")),
    }
    if new or not citizen.last_name:
        values["last_name"] = ((data.get("preferred_username") or "").strip()
                               or (data.get("family_name") or "").strip())[:150]
    if new and data.get("email"):
        values["email"] = data["email"].strip()[:254]
    for field, value in values.items():
        if value and getattr(citizen, field) != value:
            setattr(citizen, field, value)
            changed.append(field)
    return changed


def configure(*, client_id: str, secret: str, server_url: str, name: str = "FranceConnect"):
    """Create or update the FranceConnect application of the current schema (call inside its tenant)."""
    from allauth.socialaccount.models import SocialApp

    app = SocialApp.objects.filter(provider=PROVIDER, provider_id=PROVIDER_ID).first() or SocialApp(
        provider=PROVIDER, provider_id=PROVIDER_ID)
    app.name = name
    app.client_id = client_id
    app.secret = secret
    app.settings = {**(app.settings or {}), "server_url": server_url.rstrip("/"),
                    "token_auth_method": "client_secret_post"}
    app.save()
    return app


def remove() -> int:
    from allauth.socialaccount.models import SocialApp

    return SocialApp.objects.filter(provider=PROVIDER, provider_id=PROVIDER_ID).delete()[0]


# --- Logout at FranceConnect (end_session_endpoint with id_token_hint) ----------------------------
# allauth keeps the decoded id_token, not the signed one FranceConnect wants back at logout. The token
# response is read on its way in (a response hook on allauth's own HTTP session, see the adapter), kept on
# the request, then in the session once the usager is signed in.
ID_TOKEN_SESSION_KEY = "franceconnect_id_token"
_REQUEST_ATTRIBUTE = "_franceconnect_id_token"


def keep_id_token(request, response, *args, **kwargs):
    """requests response hook: remember the raw id_token of a token-endpoint answer on the request."""
    if request is None or response.request.method != "POST" or not response.ok:
        return response
    try:
        body = response.json()
    except ValueError:
        return response
    if isinstance(body, dict) and isinstance(body.get("id_token"), str) and "access_token" in body:
        setattr(request, _REQUEST_ATTRIBUTE, body["id_token"])
    return response


def remember_id_token(request) -> None:
    """After sign-in: keep the id_token of this FranceConnect sign-in in the (new) session."""
    id_token = getattr(request, _REQUEST_ATTRIBUTE, None)
    if id_token:
        request.session[ID_TOKEN_SESSION_KEY] = id_token


def end_session_url(request) -> str | None:
    """FranceConnect's logout address for this session (read before the session is flushed), or None."""
    import requests
    from allauth.socialaccount.adapter import get_adapter
    from allauth.socialaccount.models import SocialApp
    from django.utils.http import urlencode

    id_token = request.session.get(ID_TOKEN_SESSION_KEY)
    if not id_token:
        return None
    try:
        provider = get_adapter(request).get_provider(request, PROVIDER_ID)
        endpoint = provider.get_oauth2_adapter(request).openid_config.get("end_session_endpoint")
    except (SocialApp.DoesNotExist, requests.RequestException, ValueError):
        return None  # FranceConnect unreachable or no longer configured: the local sign-out still happens
    if not endpoint:
        return None
    return endpoint + "?" + urlencode({"id_token_hint": id_token, "state": secrets.token_urlsafe(32),
                                       "post_logout_redirect_uri": request.build_absolute_uri("/")})
