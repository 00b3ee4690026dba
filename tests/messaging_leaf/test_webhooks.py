"""messaging.webhooks: payload, signature, delivery against a local receiver, address rules, retries."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import ValidationError
from pytest_httpserver import HTTPServer
from werkzeug import Response

from messaging.errors import PermanentProviderError, TemporaryProviderError
from messaging.webhooks import (
    SIGNATURE_HEADER,
    build_payload,
    deliver,
    is_public_address,
    retry_delays,
    sign,
    validate_target_url,
)

PARIS = ZoneInfo("Europe/Paris")
SECRET = "s3cr3t-partagé"
WHEN = dt.datetime(2026, 3, 12, 14, 30, 5, tzinfo=PARIS)


def payload(**overrides):
    arguments = {
        "data": {"id": 42, "starts_at": dt.datetime(2026, 3, 20, 9, tzinfo=PARIS), "motif": "Consultation PMI"},
        "model": "Rdv",
        "event": "created",
        "reason": None,
        "timestamp": WHEN,
    }
    arguments.update(overrides)
    return build_payload(**arguments)


# --- Payload and signature -------------------------------------------------------------------------


def test_payload_shape():
    body = payload(data={"id": uuid.UUID(int=1), "price": Decimal("1.50"), "name": "Hélène"})
    assert b": " not in body and b", " not in body  # compact
    assert "Hélène".encode() in body  # UTF-8, not \\u escapes
    assert json.loads(body) == {
        "data": {"id": "00000000-0000-0000-0000-000000000001", "price": "1.50", "name": "Hélène"},
        "meta": {
            "model": "Rdv",
            "event": "created",
            "timestamp": "2026-03-12T14:30:05+01:00",
            "webhook_reason": None,
        },
    }


def test_payload_rgpd_reason_and_dates():
    body = json.loads(payload(event="destroyed", reason="rgpd"))
    assert body["meta"]["event"] == "destroyed"
    assert body["meta"]["webhook_reason"] == "rgpd"
    assert body["data"]["starts_at"] == "2026-03-20T09:00:00+01:00"


def test_payload_timestamp_as_stored_iso_text():
    assert payload(timestamp=WHEN.isoformat()) == payload()
    utc = "2026-03-12T13:30:05+00:00"
    assert json.loads(payload(timestamp=utc))["meta"]["timestamp"] == utc


def test_payload_refusals():
    with pytest.raises(ValueError, match="Événement"):
        payload(event="deleted")
    with pytest.raises(ValueError, match="fuseau"):
        payload(timestamp=dt.datetime(2026, 3, 12, 14, 30))
    with pytest.raises(ValueError, match="fuseau"):
        payload(timestamp="2026-03-12T14:30:00")


def test_signature_is_hex_hmac_sha256_of_the_raw_body():
    body = payload()
    signature = sign(body, SECRET)
    assert signature == hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert len(signature) == 64 and int(signature, 16) >= 0
    # Known value: the example given to integrators (secret "secret", body "content").
    assert sign(b"content", "secret") == "230d8225fa8d7c42c0d16356ff175a660c11960fc035616023b8d22a8f36f03a"
    assert SIGNATURE_HEADER == "X-Lapin-Signature"


# --- Delivery --------------------------------------------------------------------------------------


def test_delivery_is_signed_and_verifiable_by_a_receiver(httpserver):
    received = {}

    def receiver(request):
        raw = request.get_data()
        expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        received["valid"] = hmac.compare_digest(expected, request.headers[SIGNATURE_HEADER])
        received["content_type"] = request.headers["Content-Type"]
        received["body"] = json.loads(raw)
        return Response("ok", status=200)

    httpserver.expect_oneshot_request("/hooks/rdv", method="POST", query_string="org=12").respond_with_handler(
        receiver
    )
    deliver(httpserver.url_for("/hooks/rdv?org=12"), payload(), SECRET)
    httpserver.check_assertions()
    assert received["valid"] is True
    assert received["content_type"].startswith("application/json")
    assert received["body"]["meta"]["model"] == "Rdv"


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_success(httpserver, status):
    httpserver.expect_oneshot_request("/hook").respond_with_data("", status=status)
    assert deliver(httpserver.url_for("/hook"), payload(), SECRET) is None


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_temporary_statuses(httpserver, status):
    httpserver.expect_oneshot_request("/hook").respond_with_data("indisponible", status=status)
    with pytest.raises(TemporaryProviderError, match=f"réponse {status} : indisponible"):
        deliver(httpserver.url_for("/hook"), payload(), SECRET)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 301, 302])
def test_permanent_statuses(httpserver, status):
    httpserver.expect_oneshot_request("/hook").respond_with_data("non", status=status, headers={"Location": "/x"})
    with pytest.raises(PermanentProviderError, match=f"réponse {status}"):
        deliver(httpserver.url_for("/hook"), payload(), SECRET)
    assert len(httpserver.log) == 1  # a redirect is not followed


def test_timeout_is_temporary(httpserver):
    release, done = threading.Event(), threading.Event()

    def slow(_request):
        release.wait(5)
        done.set()
        return Response("trop tard", status=200)

    httpserver.expect_oneshot_request("/hook").respond_with_handler(slow)
    started = time.monotonic()
    with pytest.raises(TemporaryProviderError, match="pas de réponse en 0.2 s"):
        deliver(httpserver.url_for("/hook"), payload(), SECRET, timeout=0.2)
    assert time.monotonic() - started < 2
    # Let the receiver finish before the next test reuses the server.
    release.set()
    assert done.wait(5)


def test_connection_refused_is_temporary():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TemporaryProviderError, match="connexion"):
        deliver(f"http://127.0.0.1:{port}/hook", payload(), SECRET, timeout=2)


def test_unknown_host_is_temporary():
    with pytest.raises(TemporaryProviderError, match="ne se résout pas"):
        deliver("http://nom-qui-n-existe-pas.invalid/hook", payload(), SECRET, timeout=2)


def test_connects_to_the_address_it_resolved_once(httpserver, monkeypatch):
    """The name is resolved once and the checked address is the one connected to (no DNS rebinding)."""
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def fake_getaddrinfo(host, *args, **kwargs):
        if host == "recepteur.example.test":
            lookups.append(host)
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    httpserver.expect_oneshot_request("/hook").respond_with_data("ok")
    deliver(f"http://recepteur.example.test:{httpserver.port}/hook", payload(), SECRET)
    (request, _response), = httpserver.log
    assert request.headers["Host"] == f"recepteur.example.test:{httpserver.port}"
    assert lookups == ["recepteur.example.test"]


# --- HTTPS: SNI and certificate checked against the name, connection to the checked address -----------


@pytest.fixture
def tls_receiver(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    try:
        yield server, str(cert_file)
    finally:
        server.clear()
        server.stop()


def test_https_delivery_checks_the_certificate_against_the_host_name(tls_receiver):
    server, ca_file = tls_receiver
    server.expect_oneshot_request("/hook").respond_with_data("ok")
    # "localhost" may resolve to ::1 first, where nothing listens: the next address is tried.
    deliver(f"https://localhost:{server.port}/hook", payload(), SECRET, verify=ca_file)
    (request, _response), = server.log
    assert request.headers["Host"] == f"localhost:{server.port}"
    assert request.headers[SIGNATURE_HEADER] == sign(payload(), SECRET)


def test_https_refuses_a_certificate_for_another_name(tls_receiver):
    server, ca_file = tls_receiver
    server.expect_request("/hook").respond_with_data("ok")
    # Connecting by IP: the certificate names "localhost" only, so the TLS check fails.
    with pytest.raises(TemporaryProviderError, match="TLS"):
        deliver(f"https://127.0.0.1:{server.port}/hook", payload(), SECRET, verify=ca_file)
    assert server.log == []


def test_https_refuses_an_unknown_authority(tls_receiver):
    server, _ca_file = tls_receiver
    server.expect_request("/hook").respond_with_data("ok")
    with pytest.raises(TemporaryProviderError, match="TLS"):
        deliver(f"https://localhost:{server.port}/hook", payload(), SECRET)
    assert server.log == []


# --- Private addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "255.255.255.255", "192.0.2.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
        "::ffff:10.0.0.1", "2002:7f00:1::1", "64:ff9b::7f00:1", "ff02::1", "pas-une-adresse",
    ],
)
def test_non_public_addresses(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "193.51.24.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses(address):
    assert is_public_address(address)


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/hook", "http://localhost:{port}/hook"])
def test_private_targets_are_refused_without_sending(httpserver, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    settings.DEBUG = True  # http allowed: only the address rule is tested here
    httpserver.expect_request("/hook").respond_with_data("ok")
    with pytest.raises(PermanentProviderError, match="adresse refusée"):
        deliver(url.format(port=httpserver.port), payload(), SECRET)
    assert httpserver.log == []


def test_http_is_refused_outside_tests_and_development(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    settings.DEBUG = False
    with pytest.raises(PermanentProviderError, match="https est obligatoire"):
        deliver("http://example.org/hook", payload(), SECRET)


# --- Target URL validation -------------------------------------------------------------------------


@pytest.fixture
def production_rules(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    settings.DEBUG = False


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.org/hook", "https://"),
        ("ftp://example.org/hook", "https://"),
        ("https:///hook", "nom de domaine"),
        ("https://user:pass@example.org/hook", "mot de passe"),
        ("https://127.0.0.1/hook", "publique"),
        ("https://[::1]/hook", "publique"),
        ("https://10.0.0.8/hook", "publique"),
        ("https://localhost/hook", "publique"),
        ("https://example.org:99999/hook", "URL valide"),
        ("https://nom-qui-n-existe-pas.invalid/hook", "introuvable"),
    ],
)
def test_invalid_target_urls(production_rules, url, message):
    with pytest.raises(ValidationError) as caught:
        validate_target_url(url)
    assert message in caught.value.messages[0]


def test_public_ip_target_is_accepted(production_rules):
    assert validate_target_url("https://8.8.8.8/hook") == "https://8.8.8.8/hook"


def test_tests_allow_local_http_targets():
    assert validate_target_url("http://127.0.0.1:8000/hook") == "http://127.0.0.1:8000/hook"


# --- Retries ---------------------------------------------------------------------------------------


def test_retry_delays_grow_and_span_about_a_week():
    delays = retry_delays()
    assert delays[:3] == [60, 120, 240]
    assert all(later >= earlier for earlier, later in zip(delays, delays[1:], strict=False))
    assert max(delays) == 24 * 3600
    assert 7 * 24 * 3600 <= sum(delays) < 8 * 24 * 3600
    assert sum(delays[:-1]) < 7 * 24 * 3600
