"""SMS leaf modules: GSM-7 text, segments, mobile numbers, sender names, providers (no database)."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from werkzeug import Response

from messaging.errors import PermanentProviderError as ErrorsPermanent
from messaging.errors import TemporaryProviderError as ErrorsTemporary
from messaging.sms import (
    MAX_SEGMENTS,
    PROVIDERS,
    PermanentProviderError,
    SendResult,
    TemporaryProviderError,
    check_length,
    count_segments,
    get_provider,
    is_gsm7,
    is_mobile_number,
    normalise_gsm7,
    validate_sender_name,
)

# --- Normalisation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Kept: these accented letters are in GSM-7.
        ("é è ù ì ò à Ç É", "é è ù ì ò à Ç É"),
        ("Ä Ö Ñ Ü ä ö ñ ü ß Å å Æ æ Ø ø", "Ä Ö Ñ Ü ä ö ñ ü ß Å å Æ æ Ø ø"),
        # Removed: not in GSM-7.
        ("ê â î ô û ë ï ÿ", "e a i o u e i y"),
        ("È Ê À Â Î Ô Û Ë Ï", "E E A A I O U E I"),
        ("reçu", "recu"),
        ("œuvre Œuvre sœur", "oeuvre OEuvre soeur"),
        ("l’accueil ‘a’", "l'accueil 'a'"),
        ("« Maison France Services »", '" Maison France Services "'),
        ("“guillemets”", '"guillemets"'),
        ("10\u00a0h\u202f: ok", "10 h : ok"),
        ("Attendez…", "Attendez..."),
        ("9 h – 10 h — salle", "9 h - 10 h - salle"),
        ("2ᵉ étage", "2e étage"),
        ("bienvenue 🙂", "bienvenue "),
        ("ﬁn", "fin"),
        ("Tarif : 12 € [TVA] {x} ~ ^ | \\", "Tarif : 12 € [TVA] {x} ~ ^ | \\"),
        ("ligne 1\nligne 2", "ligne 1\nligne 2"),
        ("e\u0301te\u0301", "été"),  # decomposed accents are recomposed first
        ("Привет", ""),
    ],
)
def test_normalise_gsm7(raw, expected):
    assert normalise_gsm7(raw) == expected
    assert is_gsm7(normalise_gsm7(raw))


def test_normalise_is_idempotent():
    text = "RDV PMI le jeudi 12 mars à 14h30. Lieu : « MDS Nord », 2ᵉ étage. Infos : https://x.fr/r/1"
    once = normalise_gsm7(text)
    assert normalise_gsm7(once) == once


# --- Segments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 153 * 2, 2),
        ("a" * (153 * 2 + 1), 3),
        ("a" * 153 * 6, 6),
        ("a" * (153 * 6 + 1), 7),
        # Extension characters take two septets.
        ("€" * 80, 1),
        ("€" * 80 + "a", 2),
        ("a" * 159 + "€", 2),
        # An escape pair is never split: 152 septets + "€" do not fit in a 153-septet part.
        ("a" * 152 + "€" + "a" * 10, 2),
        ("a" * 152 + "€" + "a" * 152, 3),
        # UCS-2 when a character is outside GSM-7.
        ("ê" * 70, 1),
        ("ê" * 71, 2),
        ("ê" * 67 * 2, 2),
        ("ê" * (67 * 2 + 1), 3),
        ("🙂" * 35, 1),  # surrogate pairs: 70 UTF-16 units
        ("🙂" * 36, 2),
    ],
)
def test_count_segments(text, segments):
    assert count_segments(text) == segments


def test_check_length():
    assert MAX_SEGMENTS == 6
    assert check_length("a" * 153 * 6) == 6
    with pytest.raises(ValueError, match="trop long : 7 parties"):
        check_length("a" * (153 * 6 + 1))
    with pytest.raises(ValueError, match="vide"):
        check_length("  ")


# --- Mobile numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "+33612345678",  # métropole 06
        "+33751234567",  # métropole 07
        "+590690001234",  # Guadeloupe
        "+590691281234",  # Guadeloupe / Saint-Martin 0691
        "+594694201234",  # Guyane
        "+596696201234",  # Martinique
        "+596697201234",  # Martinique 0697
        "+262692123456",  # La Réunion
        "+262693123456",  # La Réunion 0693
        "+262639012345",  # Mayotte
        "+508551234",  # Saint-Pierre-et-Miquelon
        "+681821234",  # Wallis-et-Futuna
        "+687751234",  # Nouvelle-Calédonie
        "+68987123456",  # Polynésie française
    ],
)
def test_mobile_numbers(number):
    assert is_mobile_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "+33123456789",  # fixe Paris
        "+33912345678",  # box
        "+33800123456",  # numéro vert
        "+590590201234",  # fixe Guadeloupe
        "+262262161234",  # fixe La Réunion
        "+262269601234",  # fixe Mayotte
        "+687201234",  # fixe Nouvelle-Calédonie
        "+32470123456",  # mobile belge: not a French number
        "+3361234567",  # too short
        "0612345678",  # not E.164
        "",
        "n'importe quoi",
    ],
)
def test_not_mobile_numbers(number):
    assert not is_mobile_number(number)


# --- Sender name ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["RdvSoli", "CD62", "A", "Mairie12345", "RDV"])
def test_valid_sender_names(name):
    assert validate_sender_name(name) == name


@pytest.mark.parametrize("name", ["", "Mairie123456", "RDV S.P.", "Département", "12345", "RDV-62"])
def test_invalid_sender_names(name):
    with pytest.raises(ValidationError) as caught:
        validate_sender_name(name)
    assert "expéditeur" in caught.value.messages[0]


# --- Providers -----------------------------------------------------------------------------------


def test_errors_are_shared_with_messaging_errors():
    assert TemporaryProviderError is ErrorsTemporary
    assert PermanentProviderError is ErrorsPermanent


def test_provider_choices_and_unknown_provider():
    assert {name for name, _label in PROVIDERS} == {"log", "brevo"}
    with pytest.raises(PermanentProviderError, match="inconnu"):
        get_provider("pigeon", {})
    with pytest.raises(PermanentProviderError, match="Aucun fournisseur de SMS n'est configuré"):
        get_provider("", {})  # production without a provider: the SMS fails with this reason, never "sent"
    with pytest.raises(PermanentProviderError, match="api_key"):
        get_provider("brevo", {})


def test_log_provider(caplog):
    provider = get_provider("log", {})
    assert provider.name == "log"
    with caplog.at_level(logging.INFO, logger="messaging.sms"):
        result = provider.send(sender="RdvSoli", to="+33612345678", text="Rappel RDV")
    assert isinstance(result, SendResult)
    assert len(result.provider_message_id) == 36
    assert "Rappel RDV" in caplog.text and "+33612345678" in caplog.text


def brevo(httpserver, **extra):
    return get_provider("brevo", {"api_key": "cle-secrete", "base_url": httpserver.url_for("/"), **extra})


def test_brevo_success_sends_the_documented_request(httpserver):
    httpserver.expect_oneshot_request(
        "/v3/transactionalSMS/send", method="POST", headers={"api-key": "cle-secrete"}
    ).respond_with_json({"messageId": 1511882900176220}, status=201)

    result = brevo(httpserver).send(sender="RdvSoli", to="+33612345678", text="RDV PMI le 12/03 à 14h30")

    assert result == SendResult(provider_message_id="1511882900176220")
    httpserver.check_assertions()
    (request, _response), = httpserver.log
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.get_data()) == {
        "sender": "RdvSoli",
        "recipient": "33612345678",
        "content": "RDV PMI le 12/03 à 14h30",
        "type": "transactional",
        "unicodeEnabled": False,
    }


def test_brevo_unicode_flag_for_non_gsm7_text(httpserver):
    httpserver.expect_oneshot_request("/v3/transactionalSMS/send").respond_with_json({"messageId": 7}, status=201)
    brevo(httpserver).send(sender="RdvSoli", to="+262692123456", text="Привет")
    (request, _response), = httpserver.log
    assert json.loads(request.get_data())["unicodeEnabled"] is True
    assert json.loads(request.get_data())["recipient"] == "262692123456"


@pytest.mark.parametrize("status", [500, 502, 503, 429, 402])
def test_brevo_temporary_errors(httpserver, status):
    httpserver.expect_oneshot_request("/v3/transactionalSMS/send").respond_with_json(
        {"code": "server_error", "message": "Try again"}, status=status
    )
    with pytest.raises(TemporaryProviderError, match=f"Brevo : refus {status}"):
        brevo(httpserver).send(sender="RdvSoli", to="+33612345678", text="Bonjour")


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_brevo_permanent_errors_carry_the_provider_message(httpserver, status):
    httpserver.expect_oneshot_request("/v3/transactionalSMS/send").respond_with_json(
        {"code": "invalid_parameter", "message": "Invalid phone number"}, status=status
    )
    with pytest.raises(PermanentProviderError) as caught:
        brevo(httpserver).send(sender="RdvSoli", to="+33612345678", text="Bonjour")
    assert str(caught.value) == f"Brevo : refus {status} : Invalid phone number"


def test_brevo_success_without_message_id_is_still_sent_never_retried(httpserver):
    # Brevo accepted the SMS: retrying because its answer is odd would send it twice.
    httpserver.expect_oneshot_request("/v3/transactionalSMS/send").respond_with_data("ok", status=201)
    assert brevo(httpserver).send(sender="RdvSoli", to="+33612345678", text="Bonjour").provider_message_id == ""


def test_brevo_timeout_is_temporary(httpserver):
    release, done = threading.Event(), threading.Event()

    def slow(_request):
        release.wait(5)
        done.set()
        return Response(json.dumps({"messageId": 1}), status=201, content_type="application/json")

    httpserver.expect_oneshot_request("/v3/transactionalSMS/send").respond_with_handler(slow)
    started = time.monotonic()
    with pytest.raises(TemporaryProviderError, match="pas de réponse en 0.2 s"):
        brevo(httpserver, timeout=0.2).send(sender="RdvSoli", to="+33612345678", text="Bonjour")
    assert time.monotonic() - started < 2
    # Let the fake provider finish before the next test reuses the server.
    release.set()
    assert done.wait(5)


def test_brevo_connection_refused_is_temporary():
    provider = get_provider("brevo", {"api_key": "k", "base_url": "http://127.0.0.1:9", "timeout": 2})
    with pytest.raises(TemporaryProviderError, match="connexion impossible"):
        provider.send(sender="RdvSoli", to="+33612345678", text="Bonjour")
