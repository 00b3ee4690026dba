"""One-time codes: hashed, 10 minutes, used once, locked after 5 wrong tries; sent by e-mail or SMS."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from public_booking import otp
from public_booking.models import OneTimeCode


def _sent_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_code_is_hashed_and_works_once(administration_a):
    with tenant_context(administration_a):
        row = otp.code_send(channel="email", destination="usager@exemple.fr")
        code = _sent_code()
        assert code not in row.code_hash and len(row.code_hash) == 64
        assert mail.outbox[-1].to == ["usager@exemple.fr"]
        otp.code_verify(destination="usager@exemple.fr", code=code)
        with pytest.raises(otp.CodeError, match="déjà servi"):
            otp.code_verify(destination="usager@exemple.fr", code=code)


def test_code_expires_after_ten_minutes(administration_a):
    with tenant_context(administration_a):
        start = timezone.now()
        otp.code_send(channel="email", destination="usager@exemple.fr", now=start)
        code = _sent_code()
        with pytest.raises(otp.CodeError, match="expiré"):
            otp.code_verify(destination="usager@exemple.fr", code=code, now=start + timedelta(minutes=10, seconds=1))
        assert OneTimeCode.objects.get().used_at is None


def test_five_wrong_tries_lock_the_code(administration_a):
    with tenant_context(administration_a):
        otp.code_send(channel="email", destination="usager@exemple.fr")
        code = _sent_code()
        wrong = "000000" if code != "000000" else "111111"
        for left in (4, 3, 2, 1):
            with pytest.raises(otp.CodeError, match=f"reste {left} essai"):
                otp.code_verify(destination="usager@exemple.fr", code=wrong)
        with pytest.raises(otp.CodeError, match="bloqué"):
            otp.code_verify(destination="usager@exemple.fr", code=wrong)
        assert OneTimeCode.objects.get().attempts == 5  # wrong tries are kept, not rolled back
        with pytest.raises(otp.CodeError, match="bloqué"):
            otp.code_verify(destination="usager@exemple.fr", code=code)


def test_a_new_code_replaces_the_old_one(administration_a):
    with tenant_context(administration_a):
        otp.code_send(channel="email", destination="usager@exemple.fr")
        first = _sent_code()
        otp.code_send(channel="email", destination="usager@exemple.fr")
        second = _sent_code()
        if first != second:
            with pytest.raises(otp.CodeError):
                otp.code_verify(destination="usager@exemple.fr", code=first)
        otp.code_verify(destination="usager@exemple.fr", code=second)


def test_sms_goes_through_the_administration_provider(administration_a, caplog, settings):
    settings.SMS_DEFAULT_PROVIDER = "log"
    with tenant_context(administration_a), caplog.at_level("INFO", logger="messaging.sms"):
        otp.code_send(channel="sms", destination="+33612345678")
    assert "+33612345678" in caplog.text
    code = re.search(r"code de confirmation : (\d{6})", caplog.text).group(1)
    with tenant_context(administration_a):
        otp.code_verify(destination="+33612345678", code=code)


def test_sms_without_provider_is_a_clear_error(administration_a, settings):
    settings.SMS_DEFAULT_PROVIDER = ""
    with tenant_context(administration_a), pytest.raises(otp.CodeNotSent, match="SMS n'a pas pu"):
        otp.code_send(channel="sms", destination="+33612345678")


def test_unknown_destination(administration_a):
    with tenant_context(administration_a), pytest.raises(otp.CodeError, match="Aucun code"):
        otp.code_verify(destination="personne@exemple.fr", code="123456")
