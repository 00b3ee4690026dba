"""Brevo (formerly Sendinblue) transactional SMS, the provider RDV Service Public has used.

API: ``POST https://api.brevo.com/v3/transactionalSMS/send`` with the header ``api-key`` and the JSON
body ``{"sender", "recipient", "content", "type": "transactional", "unicodeEnabled"}``; the recipient is
the international number without "+" ("33612345678"). A ``201`` answers ``{"messageId": 1511882900176220}``;
errors answer ``{"code": "...", "message": "..."}``. (``/v3/transactionalSMS/sms``, the former endpoint,
takes the same body and is deprecated.)

Credentials (stored encrypted per administration): ``api_key`` (required), and for tests or a proxy
``base_url`` (default ``https://api.brevo.com``) and ``timeout`` in seconds (default 10).

Mapping of the answer: 2xx -> ``SendResult``; 402 (no credits left: an admin can top up), 408, 429, 5xx,
timeouts and connection errors -> ``TemporaryProviderError``; any other 4xx -> ``PermanentProviderError``.
"""

from __future__ import annotations

import os
import threading

import requests

from messaging.errors import PermanentProviderError, TemporaryProviderError
from messaging.sms.base import SendResult
from messaging.sms.gsm import is_gsm7

DEFAULT_BASE_URL = "https://api.brevo.com"
SEND_PATH = "/v3/transactionalSMS/send"
DEFAULT_TIMEOUT = 10.0
TEMPORARY_STATUSES = frozenset({402, 408, 429})

_local = threading.local()


def _session() -> requests.Session:
    """One HTTP session per process and thread: keep-alive to the provider instead of a new TCP (and TLS)
    connection per SMS. Keyed by the process id so that a forked worker never shares its parent's sockets.
    requests does not retry a POST on its own, so a reused connection never sends an SMS twice."""
    session = getattr(_local, "session", None)
    if session is None or _local.pid != os.getpid():
        session = _local.session = requests.Session()
        _local.pid = os.getpid()
    return session


def _provider_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = body.get("message") or body.get("code")
        if message:
            return str(message)[:300]
    return (response.text or "").strip()[:300] or response.reason or ""


class BrevoProvider:
    name = "brevo"

    def __init__(self, credentials: dict):
        api_key = (credentials or {}).get("api_key")
        if not api_key:
            raise PermanentProviderError("Brevo : la clé d'API (api_key) n'est pas configurée.")
        self.api_key = api_key
        self.base_url = (credentials.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = float(credentials.get("timeout") or DEFAULT_TIMEOUT)

    def send(self, *, sender: str, to: str, text: str) -> SendResult:
        payload = {
            "sender": sender,
            "recipient": to.removeprefix("+"),
            "content": text,
            "type": "transactional",
            "unicodeEnabled": not is_gsm7(text),
        }
        headers = {"api-key": self.api_key, "accept": "application/json", "content-type": "application/json"}
        try:
            response = _session().post(self.base_url + SEND_PATH, json=payload, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            raise TemporaryProviderError(f"Brevo : pas de réponse en {self.timeout:g} s.") from None
        except requests.RequestException as error:
            raise TemporaryProviderError(f"Brevo : connexion impossible ({error.__class__.__name__}).") from None

        status = response.status_code
        if 200 <= status < 300:
            # Accepted: never retried (that would send the SMS twice), even if the answer lacks its id.
            try:
                message_id = str(response.json()["messageId"])
            except (ValueError, KeyError, TypeError):
                message_id = ""
            return SendResult(provider_message_id=message_id)
        reason = f"Brevo : refus {status} : {_provider_message(response)}"
        if status >= 500 or status in TEMPORARY_STATUSES:
            raise TemporaryProviderError(reason)
        raise PermanentProviderError(reason)
