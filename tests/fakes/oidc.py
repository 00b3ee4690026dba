"""A local fake OpenID Connect provider shaped like FranceConnect, for tests: real HTTP (pytest-httpserver),
real signed id_tokens (RS256, key served at ``/jwks``).

    fc = FakeFranceConnect(httpserver, prefix="/fc-a", client_id="client-a", secret="secret-a")
    fc.identity["email"] = "marie@exemple.fr"
    location = fc.authorize(url_of_the_redirect_to_the_provider)   # -> our callback URL with code & state

Every request the provider received is kept in ``authorize_requests`` / ``token_requests``; ``authorize``
checks what FranceConnect checks (client, redirect, scope, acr_values, nonce, state).
"""

from __future__ import annotations

import json
import secrets
import time
from functools import cache
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Response

DEFAULT_IDENTITY = {
    "sub": "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1",
    "given_name": "Angela Claire Louise",
    "family_name": "DUBOIS",
    "preferred_username": "",
    "birthdate": "1962-08-24",
    "gender": "female",
    "birthplace": "75107",
    "birthcountry": "99100",
    "email": "angela.dubois@exemple.fr",
}


@cache
def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _json(data, status=200):
    return Response(json.dumps(data), status=status, content_type="application/json")


class FakeFranceConnect:
    KID = "fake-fc-key"

    def __init__(self, httpserver, *, prefix="/fc", client_id="client-fc", secret="secret-fc"):
        self.httpserver = httpserver
        self.prefix = prefix
        self.client_id = client_id
        self.secret = secret
        self.issuer = httpserver.url_for(prefix)
        self.identity = dict(DEFAULT_IDENTITY)
        self.nonce_override: str | None = None
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.authorize_requests: list[dict] = []
        self.token_requests: list[dict] = []
        self.issued_id_tokens: list[str] = []
        routes = {
            "/.well-known/openid-configuration": self._configuration,
            "/authorize": self._authorize,
            "/token": self._token,
            "/userinfo": self._userinfo,
            "/jwks": self._jwks,
        }
        for path, handler in routes.items():
            httpserver.expect_request(prefix + path).respond_with_handler(handler)

    @property
    def server_url(self) -> str:
        return self.issuer

    # --- endpoints -------------------------------------------------------------------------------

    def _configuration(self, request):
        return _json({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "acr_values_supported": ["eidas1"],
        })

    def _authorize(self, request):
        params = request.args.to_dict()
        self.authorize_requests.append(params)
        problems = []
        if params.get("client_id") != self.client_id:
            problems.append("client_id")
        if params.get("response_type") != "code":
            problems.append("response_type")
        if "openid" not in params.get("scope", "").split():
            problems.append("scope")
        if params.get("acr_values") != "eidas1":
            problems.append("acr_values")
        if len(params.get("nonce", "")) < 22 or len(params.get("state", "")) < 22:
            problems.append("nonce/state")
        if not params.get("redirect_uri"):
            problems.append("redirect_uri")
        if problems:
            return _json({"error": "invalid_request", "error_description": ", ".join(problems)}, status=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": params["nonce"], "redirect_uri": params["redirect_uri"]}
        query = urlencode({"code": code, "state": params["state"]})
        return Response(status=302, headers={"Location": f"{params['redirect_uri']}?{query}"})

    def _token(self, request):
        form = request.form.to_dict()
        self.token_requests.append(form)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.secret:
            return _json({"error": "invalid_client"}, status=401)
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return _json({"error": "invalid_grant"}, status=400)
        access_token = secrets.token_urlsafe(24)
        self.tokens[access_token] = dict(self.identity)
        now = int(time.time())
        id_token = jwt.encode(
            {"iss": self.issuer, "aud": self.client_id, "sub": self.identity["sub"], "iat": now, "exp": now + 60,
             "nonce": self.nonce_override or grant["nonce"], "acr": "eidas1", "jti": secrets.token_hex(8)},
            _key(), algorithm="RS256", headers={"kid": self.KID},
        )
        self.issued_id_tokens.append(id_token)
        return _json({"access_token": access_token, "token_type": "Bearer", "expires_in": 60, "id_token": id_token})

    def _userinfo(self, request):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        identity = self.tokens.get(token)
        if identity is None:
            return _json({"error": "invalid_token"}, status=401)
        return _json({key: value for key, value in identity.items() if value not in ("", None)})

    def _jwks(self, request):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(_key().public_key()))
        return _json({"keys": [{**jwk, "kid": self.KID, "alg": "RS256", "use": "sig"}]})

    # --- the usager's browser at the provider ----------------------------------------------------

    def authorize(self, location: str) -> str:
        """Follow our redirect to the provider as the browser would; returns the path and query of our
        callback the provider sends the browser back to."""
        response = requests.get(location, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text
        back = urlsplit(response.headers["Location"])
        return f"{back.path}?{back.query}"

    def last_authorize(self) -> dict:
        return self.authorize_requests[-1]

    @staticmethod
    def query_of(url: str) -> dict:
        return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
