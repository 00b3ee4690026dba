"""Operators set an administration's sender, SMS provider (key encrypted), reminders and webhooks from the
console; bad input is a French form error that changes nothing; support staff don't."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from messaging.models import MessagingSettings, WebhookEndpoint
from scheduling.models import Organisation

ADMIN_URL = "/console/tenants/administration/"


def url(administration):
    return f"{ADMIN_URL}{administration.pk}/notifications/"


def settings_post(**fields):
    data = {"action": "settings", "s-sender_name": "Mairie", "s-sender_email": "rdv@mairie.fr", "s-reply_to": "",
            "s-sms_provider": "", "s-sms_sender": "", "s-sms_api_key": "", "s-reminder_hours": ""}
    data.update({f"s-{name}": value for name, value in fields.items()})
    return data


@pytest.fixture
def fresh_settings(administration_a):
    with tenant_context(administration_a):
        MessagingSettings.objects.all().delete()
        WebhookEndpoint.objects.all().delete()
    yield
    with tenant_context(administration_a):
        MessagingSettings.objects.all().delete()


def test_operator_sets_provider_key_and_reminders(administration_a, operator_client, fresh_settings):
    assert operator_client.get(url(administration_a)).status_code == 200
    saved = operator_client.post(url(administration_a), settings_post(
        sms_provider="brevo", sms_api_key="xkeysib-secret", sms_sender="Mairie26", reminder_hours="2, 48h",
    ))
    assert saved.status_code == 302
    with tenant_context(administration_a):
        stored = MessagingSettings.load()
        assert stored.sms_provider == "brevo" and stored.sms_sender == "Mairie26"
        assert stored.reminder_lead_hours == [48, 2] and stored.lead_hours == [48, 2]
        assert "xkeysib" not in stored.sms_credentials and stored.get_sms_credentials() == {"api_key": "xkeysib-secret"}
    page = operator_client.get(url(administration_a)).content.decode()
    assert "xkeysib-secret" not in page  # never shown again
    # Saving again without a key keeps the stored one.
    operator_client.post(url(administration_a), settings_post(sms_provider="brevo", sms_sender="Mairie26"))
    with tenant_context(administration_a):
        assert MessagingSettings.load().get_sms_credentials() == {"api_key": "xkeysib-secret"}


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"reminder_hours": "48, demain"}, "reminder_hours", "nombres d'heures"),
    ({"reminder_hours": "0"}, "reminder_hours", "entre 1 et 720"),
    ({"sms_provider": "brevo"}, "sms_api_key", "demande sa clé"),
    ({"sms_sender": "Mairie de Crest"}, "sms_sender", "11"),
    ({"sms_provider": "pigeon"}, "sms_provider", "Sélectionnez un choix valide"),
    ({"sender_email": "pas-un-mail"}, "sender_email", "adresse e-mail valide"),
])
def test_bad_settings_are_french_errors_and_change_nothing(
    administration_a, operator_client, fresh_settings, fields, field, message,
):
    response = operator_client.post(url(administration_a), settings_post(**fields))
    assert response.status_code == 200
    errors = response.context["settings_form"].errors
    assert message in " ".join(errors[field])
    with tenant_context(administration_a):
        assert MessagingSettings.load().sender_name == ""


def test_operator_adds_and_removes_a_webhook(administration_a, operator_client, fresh_settings):
    with tenant_context(administration_a):
        organisation = Organisation.objects.create(name="MDS Sud")
    bad = operator_client.post(url(administration_a), {
        "action": "webhook", "w-organisation": organisation.pk, "w-target_url": "ftp://recepteur.fr/",
        "w-secret": "s3cret", "w-subscriptions": ["appointment"],
    })
    assert bad.status_code == 200 and bad.context["webhook_form"].errors["target_url"]
    added = operator_client.post(url(administration_a), {
        "action": "webhook", "w-organisation": organisation.pk, "w-target_url": "https://recepteur.example.fr/rdv",
        "w-secret": "s3cret", "w-subscriptions": ["appointment", "absence"],
    })
    assert added.status_code == 302
    with tenant_context(administration_a):
        webhook = WebhookEndpoint.objects.get()
        assert webhook.subscriptions == ["appointment", "absence"] and webhook.organisation == organisation
    assert "https://recepteur.example.fr/rdv" in operator_client.get(url(administration_a)).content.decode()
    operator_client.post(url(administration_a), {"action": "delete_webhook", "webhook": webhook.pk})
    gone = operator_client.post(url(administration_a), {"action": "delete_webhook", "webhook": "abc"}, follow=True)
    assert "Ce webhook n&#x27;existe plus." in gone.content.decode()
    with tenant_context(administration_a):
        assert not WebhookEndpoint.objects.exists()
        organisation.delete()


def test_support_staff_do_not_change_notification_settings(administration_a, support_client):
    assert support_client.get(url(administration_a)).status_code == 403
    assert support_client.post(url(administration_a), settings_post(sender_name="X")).status_code == 403
