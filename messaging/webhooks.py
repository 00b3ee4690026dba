"""Outgoing webhooks: payload, signature, delivery and the rules on target URLs.

Compatible with the receivers written for RDV Service Public: a POST of
``{"data": ..., "meta": {"model", "event", "timestamp", "webhook_reason"}}`` with the header
``X-Lapin-Signature`` = hex HMAC-SHA256 of the raw body keyed with the endpoint's secret. A receiver
checks it with::

    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    hmac.compare_digest(expected, request.headers["X-Lapin-Signature"])

Server-side request forgery: a webhook must never reach the platform's own network. ``deliver``
resolves the host once, refuses the delivery if any address is loopback, private, link-local,
multicast, reserved or otherwise not global, and connects to the address it checked (the Host header
and, in HTTPS, the SNI and the certificate check keep the original name), so a second DNS answer
cannot redirect it (DNS rebinding). Redirects are not followed and no proxy from the environment is
used. ``settings.WEBHOOKS_ALLOW_PRIVATE = True`` (tests only) lifts the address rule and allows http.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import socket
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder

from messaging.errors import PermanentProviderError, TemporaryProviderError

SIGNATURE_HEADER = "X-Lapin-Signature"
EVENTS = ("created", "updated", "destroyed")
DEFAULT_TIMEOUT = 10.0
USER_AGENT = "RDV-Service-Public-Webhooks/1.0"
TEMPORARY_STATUSES = frozenset({408, 429})


# --- Payload and signature -------------------------------------------------------------------------


def build_payload(
    *, data: dict, model: str, event: str, reason: str | None, timestamp: dt.datetime | str
) -> bytes:
    """The JSON body (compact, UTF-8) sent to the endpoints.

    ``event`` is ``created``, ``updated`` or ``destroyed``; ``reason`` is the ``webhook_reason``
    (``None`` for an ordinary change, ``"rgpd"`` for a purge); ``timestamp`` must be aware (a datetime,
    or its ISO 8601 text with an offset, as stored in a JSON column).
    """
    if event not in EVENTS:
        raise ValueError(f"Événement de webhook inconnu : {event!r} ({', '.join(EVENTS)}).")
    if isinstance(timestamp, str):
        timestamp = dt.datetime.fromisoformat(timestamp)
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise ValueError("L'horodatage d'un webhook doit porter un fuseau horaire.")
    body = {
        "data": data,
        "meta": {"model": model, "event": event, "timestamp": timestamp.isoformat(), "webhook_reason": reason or None},
    }
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    """Hex HMAC-SHA256 of the raw ``body`` keyed with ``secret`` (the ``X-Lapin-Signature`` value)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


# --- Addresses -------------------------------------------------------------------------------------


def _allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE", False))


def is_public_address(address: str) -> bool:
    """Whether ``address`` is a global unicast address (also looking inside IPv4-mapped/6to4/Teredo)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(str(ip.ipv4_mapped))
        embedded = [ip.sixtofour, *(ip.teredo or ())]
        if any(inner is not None and not is_public_address(str(inner)) for inner in embedded):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback)


def _resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order, without duplicates."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TemporaryProviderError(f"Webhook : le nom « {host} » ne se résout pas ({error}).") from None
    addresses = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


def _checked_addresses(host: str, port: int) -> list[str]:
    addresses = _resolve(host, port)
    if not addresses:
        raise TemporaryProviderError(f"Webhook : le nom « {host} » ne se résout pas.")
    if not _allow_private():
        refused = [address for address in addresses if not is_public_address(address)]
        if refused:
            raise PermanentProviderError(
                f"Webhook : adresse refusée pour « {host} » ({', '.join(refused)}) : "
                "les adresses locales, privées ou réservées ne sont pas autorisées."
            )
    return addresses


# --- Target URL ------------------------------------------------------------------------------------


def validate_target_url(url: str) -> str:
    """Refuse a webhook target that cannot or must not be reached; return it.

    HTTPS only (http too when ``DEBUG`` or ``WEBHOOKS_ALLOW_PRIVATE``), no user or password in the URL,
    and a host that resolves to public addresses only. Raises a French ``ValidationError``.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError("L'adresse du webhook n'est pas une URL valide.", code="invalid") from None
    allowed_schemes = ("https", "http") if (settings.DEBUG or _allow_private()) else ("https",)
    if parts.scheme not in allowed_schemes:
        raise ValidationError("L'adresse du webhook doit commencer par https://.", code="https_required")
    if not parts.hostname:
        raise ValidationError("L'adresse du webhook doit contenir un nom de domaine.", code="invalid")
    if parts.username or parts.password:
        raise ValidationError(
            "L'adresse du webhook ne doit pas contenir d'identifiant ni de mot de passe : "
            "utilisez le secret partagé pour authentifier les appels.",
            code="credentials_in_url",
        )
    if not _allow_private():
        try:
            _checked_addresses(parts.hostname, port or (443 if parts.scheme == "https" else 80))
        except PermanentProviderError:
            raise ValidationError(
                "L'adresse du webhook doit être publique : les adresses locales, privées ou réservées sont refusées.",
                code="private_address",
            ) from None
        except TemporaryProviderError:
            raise ValidationError(
                "Le nom de domaine de l'adresse du webhook est introuvable.", code="unknown_host"
            ) from None
    return url


# --- Delivery --------------------------------------------------------------------------------------


def _pool(scheme: str, address: str, port: int, hostname: str, timeout: urllib3.Timeout, verify: bool | str):
    if scheme == "http":
        return urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    if verify:
        # The same authorities as ``requests`` (certifi), whatever the image's system store holds.
        ca_certs = verify if isinstance(verify, str) else certifi.where()
        tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": ca_certs, "assert_hostname": hostname}
    else:
        tls = {"cert_reqs": "CERT_NONE", "assert_hostname": False}
    return urllib3.HTTPSConnectionPool(
        address, port, timeout=timeout, retries=False, maxsize=1, server_hostname=hostname, **tls
    )


def _host_header(scheme: str, hostname: str, port: int) -> str:
    name = f"[{hostname}]" if ":" in hostname else hostname
    default = 443 if scheme == "https" else 80
    return name if port == default else f"{name}:{port}"


def deliver(url: str, body: bytes, secret: str, *, timeout: float = DEFAULT_TIMEOUT, verify: bool | str = True) -> None:
    """POST ``body`` to ``url`` signed with ``secret``; return on a 2xx answer.

    Raises ``TemporaryProviderError`` (timeout, connection or TLS error, 5xx, 408, 429: retry later)
    or ``PermanentProviderError`` (refused address, other answers, 410 included). ``verify`` is a CA
    bundle path for tests; leave it to ``True`` otherwise.
    """
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise PermanentProviderError("Webhook : URL invalide.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentProviderError("Webhook : URL invalide (http ou https avec un nom de domaine).")
    if parts.scheme == "http" and not (settings.DEBUG or _allow_private()):
        raise PermanentProviderError("Webhook : https est obligatoire.")
    addresses = _checked_addresses(parts.hostname, port)

    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Host": _host_header(parts.scheme, parts.hostname, port),
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(body, secret),
    }
    limit = urllib3.Timeout(connect=timeout, read=timeout)
    response = None
    for index, address in enumerate(addresses):
        pool = _pool(parts.scheme, address, port, parts.hostname, limit, verify)
        try:
            response = pool.urlopen("POST", path, body=body, headers=headers, redirect=False, retries=False)
            break
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as error:
            # Nothing was sent: the next address of the same name may answer.
            if index == len(addresses) - 1:
                if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
                    raise TemporaryProviderError(f"Webhook : pas de connexion en {timeout:g} s.") from None
                raise TemporaryProviderError("Webhook : connexion refusée ou impossible.") from None
        except urllib3.exceptions.ReadTimeoutError:
            raise TemporaryProviderError(f"Webhook : pas de réponse en {timeout:g} s.") from None
        except urllib3.exceptions.SSLError as error:
            raise TemporaryProviderError(f"Webhook : erreur TLS ({error.__class__.__name__}).") from None
        except urllib3.exceptions.HTTPError as error:
            raise TemporaryProviderError(f"Webhook : échange interrompu ({error.__class__.__name__}).") from None
        finally:
            pool.close()

    status = response.status
    if 200 <= status < 300:
        return
    excerpt = response.data[:200].decode("utf-8", "replace").strip()
    reason = f"Webhook : réponse {status}" + (f" : {excerpt}" if excerpt else "")
    if status >= 500 or status in TEMPORARY_STATUSES:
        raise TemporaryProviderError(reason)
    raise PermanentProviderError(reason)


def retry_delays(*, base: int = 60, cap: int = 24 * 3600, total: int = 7 * 24 * 3600) -> list[int]:
    """Seconds to wait before each retry: doubling from ``base``, at most ``cap``, until ``total`` is reached.

    With the defaults: 1 min, 2, 4, ... about 17 h, then once a day: 17 retries over about 7.4 days.
    """
    delays: list[int] = []
    while sum(delays) < total:
        delays.append(min(base * 2 ** len(delays), cap))
    return delays
