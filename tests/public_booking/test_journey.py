"""The booking journey, step by step, through HTTP on administration A's host."""

import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from public_booking.models import OneTimeCode
from scheduling.models import Appointment, Citizen
from tests.fakes.ban import FakeBan
from tests.public_booking.journey_world import a_slot_after

VALENCE = {"adresse": "3 rue Émile Augier 26000 Valence", "insee": "26362", "rue": "26362_0100",
           "lat": "44.933", "lon": "4.892"}


def _q(**values):
    return urlencode({k: v for k, v in values.items() if v is not None})


@pytest.fixture
def ban(httpserver, settings):
    fake = FakeBan(httpserver, settings)
    fake.add("3 Rue Émile Augier 26000 Valence", city_code="26362", city="Valence", postcode="26000",
             street_id="26362_0100", street="Rue Émile Augier", housenumber="3", lon=4.892, lat=44.933)
    fake.add("12 Rue du Port 26200 Montélimar", city_code="26198", city="Montélimar", postcode="26200",
             street_id="26198_0420", street="Rue du Port", housenumber="12", lon=4.75, lat=44.56)
    return fake


# --- 1. Start --------------------------------------------------------------------------------------

def test_home_offers_booking_and_direct_links(client_a, world):
    response = client_a.get("/")
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "Prendre rendez-vous" in html and "/prendre-rdv/" in html
    assert f"/prendre-rdv/service/{world.service.pk}/" in html


def test_direct_links_prefilter_the_journey(client_a, world):
    response = client_a.get(f"/prendre-rdv/organisation/{world.south.pk}/")
    assert response.status_code == 302 and response["Location"].endswith(f"?organisation={world.south.pk}")
    page = client_a.get(response["Location"])
    assert "MDS Sud" in page.content.decode()
    types = client_a.get(f"/prendre-rdv/motifs/?organisation={world.south.pk}").content.decode()
    assert "Accompagnement RSA" in types and "Entretien téléphonique" not in types
    assert client_a.get("/prendre-rdv/organisation/999999/").status_code == 404
    assert client_a.get("/prendre-rdv/inconnu/1/").status_code == 404


def test_direct_link_to_a_type_goes_straight_to_places(client_a, world):
    response = client_a.get(f"/prendre-rdv/motifs/?motif={world.open_type.pk}")
    assert response.status_code == 302 and "/prendre-rdv/lieux/" in response["Location"]


def test_embed_may_be_framed_and_nothing_else(client_a, world):
    embed = client_a.get("/prendre-rdv/integration/")
    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed
    assert embed["Content-Security-Policy"] == "frame-ancestors *"
    assert 'target="_blank"' in embed.content.decode()
    for path in ("/", "/prendre-rdv/", "/prendre-rdv/motifs/"):
        response = client_a.get(path)
        assert response["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors *" not in response.get("Content-Security-Policy", "")


# --- 2. Address --------------------------------------------------------------------------------------

def test_address_search_lists_matches_with_their_sector_data(client_a, world, ban):
    response = client_a.get("/prendre-rdv/?q=rue emile augier valence")
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert "3 Rue Émile Augier 26000 Valence" in html
    assert "insee=26362" in html and "rue=26362_0100" in html


def test_unknown_address_is_a_field_error(client_a, world, ban):
    html = client_a.get("/prendre-rdv/?q=nulle part ailleurs").content.decode()
    assert "Aucune adresse ne correspond" in html
    html = client_a.get("/prendre-rdv/?q=ab").content.decode()
    assert "au moins 3 caractères" in html


def test_ban_down_falls_back_clearly(client_a, world, settings):
    settings.ADDRESS_API_URL = "http://127.0.0.1:9/"  # nobody listens
    response = client_a.get("/prendre-rdv/?q=rue emile augier valence")
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert "ne répond pas" in html and "Continuer sans indiquer d'adresse" in html


# --- 3. Types --------------------------------------------------------------------------------------

def test_types_by_sector(client_a, world):
    without = client_a.get("/prendre-rdv/motifs/").content.decode()
    assert "Accompagnement RSA" in without
    assert "Entretien téléphonique" not in without and "Suivi référent" not in without
    assert "indiquez votre adresse pour les voir" in without
    valence = client_a.get("/prendre-rdv/motifs/?" + _q(**VALENCE)).content.decode()
    assert "Entretien téléphonique" in valence and "Suivi référent" in valence
    assert "par téléphone" in valence
    # the same motif in two organisations is offered once
    assert valence.count("Accompagnement RSA") == 1


def test_agents_only_and_archived_types_are_not_offered(client_a, administration_a, world):
    with tenant_context(administration_a):
        world.open_type_south.bookable_by = "agents"
        world.open_type_south.save()
        world.open_type.archived_at = timezone.now()
        world.open_type.save()
    html = client_a.get("/prendre-rdv/motifs/").content.decode()
    assert "Accompagnement RSA" not in html
    response = client_a.get(f"/prendre-rdv/lieux/?motif={world.open_type_south.pk}")
    assert response.status_code == 302


# --- 4. Places -------------------------------------------------------------------------------------

def test_places_nearest_first_with_next_availability(client_a, world):
    near_south = {"adresse": "Montélimar", "insee": "26198", "lat": "44.56", "lon": "4.75"}
    html = client_a.get("/prendre-rdv/lieux/?" + _q(motif=world.open_type.pk, **near_south)).content.decode()
    assert html.index("Maison Sud") < html.index("Maison Nord")
    assert "Prochaine disponibilité" in html and "km" in html
    html = client_a.get("/prendre-rdv/lieux/?" + _q(motif=world.open_type.pk, **VALENCE)).content.decode()
    assert html.index("Maison Nord") < html.index("Maison Sud")


def test_sectorised_type_refused_without_its_sector(client_a, world):
    response = client_a.get("/prendre-rdv/lieux/?" + _q(motif=world.org_type.pk))
    assert response.status_code == 302 and "/prendre-rdv/motifs/" in response["Location"]


# --- 5. Slots --------------------------------------------------------------------------------------

def _slots_url(world, **extra):
    return "/prendre-rdv/creneaux/?" + _q(motif=world.open_type.pk, lieu=world.north_place.pk, **extra)


def test_week_of_slots_one_button_per_time_grouped_by_day(client_a, administration_a, world):
    with tenant_context(administration_a):
        # a second agent in the same place at the same times: still one button per start time
        from tests.scheduling.factories import AvailabilityFactory

        AvailabilityFactory(agent=world.north_agent_2, location=world.north_place, first_day=timezone.localdate(),
                            weekdays=[0, 1, 2, 3, 4, 5, 6], appointment_types=[world.open_type])
    response = client_a.get(_slots_url(world))
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert "<fieldset" in html and "<legend" in html
    values = re.findall(r'name="creneau" value="([^"]+)"', html)
    assert values and len(values) == len(set(values))
    assert "Semaine suivante" in html


def test_no_navigation_past_the_booking_window(client_a, administration_a, world):
    with tenant_context(administration_a):
        world.open_type.max_booking_delay = timezone.timedelta(days=3)
        world.open_type.save()
    html = client_a.get(_slots_url(world, semaine="2099-01-05")).content.decode()
    assert "Semaine suivante" not in html
    html = client_a.get(_slots_url(world, semaine="2000-01-03")).content.decode()
    assert "Semaine précédente" not in html


def test_empty_week_offers_next_availability(client_a, administration_a, world):
    from datetime import timedelta

    from scheduling.models import Availability

    with tenant_context(administration_a):
        start = timezone.localdate() + timedelta(days=21)
        Availability.objects.filter(agent=world.north_agent, location=world.north_place).update(first_day=start)
    html = client_a.get(_slots_url(world)).content.decode()
    assert "Aucun horaire libre cette semaine" in html
    assert "Prochaine disponibilité" in html


def test_tampered_links_never_fail(client_a, world):
    for query in (
        "motif=abc", "motif=99999999", "motif=-1", f"motif={world.open_type.pk}&lieu=xyz",
        f"motif={world.open_type.pk}&lieu=99999", f"motif={world.open_type.pk}&lieu={world.south_place.pk}",
        f"motif={world.open_type.pk}&lieu={world.north_place.pk}&semaine=2026-13-45",
        "insee=ABCDE&lat=abc&lon=999", "adresse=" + "x" * 500, "motif=1%00", "insee=26362&lat=nan&lon=inf",
        f"motif={world.open_type.pk}&lieu=9999999999", f"motif={world.open_type.pk}&lieu={world.north_place.pk}"
        "&semaine=0001-01-01", f"motif={world.open_type.pk}&lieu={world.north_place.pk}&semaine=9999-12-31",
        f"motif={world.open_type.pk}&lieu={world.north_place.pk}&creneau=0001-01-01T00:00:00%2B00:00",
        f"motif={world.open_type.pk}&lieu={world.north_place.pk}&creneau=9999-12-31T23:59:00%2B00:00",
        f"motif={world.open_type.pk}&lieu={world.north_place.pk}&creneau=2026-01-01T10:00:00",
        f"motif={world.open_type.pk}&lieu={world.north_place.pk}&creneau=2030-01-01T10:00:00%2B01:00",
        f"motif={world.open_type.pk}&lieu=aucun&creneau=n'importe",
    ):
        for step in ("motifs", "lieux", "creneaux", "coordonnees"):
            response = client_a.get(f"/prendre-rdv/{step}/?{query}")
            assert response.status_code in (200, 302, 409), (step, query, response.status_code)


# --- 6–8. Who, details, confirmation ---------------------------------------------------------------

def _contact_url(world, kind=None, location="default", slot=None, **extra):
    kind = kind or world.open_type
    location = world.north_place.pk if location == "default" else location
    return "/prendre-rdv/coordonnees/?" + _q(motif=kind.pk, lieu=location, creneau=slot.starts_at.isoformat(),
                                             **extra)


def _confirm_email(client, url, email="usager@exemple.fr"):
    response = client.post(url, {"action": "send_code", "channel": "email", "email": email})
    assert response.status_code == 302, unescape(response.content.decode())[:3000]
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    response = client.post(url, {"action": "verify_code", "code": code})
    assert response.status_code == 302


def test_book_without_account_by_email(client_a, administration_a, world):
    with tenant_context(administration_a):
        slot = a_slot_after(world.open_type)
    url = _contact_url(world, slot=slot)
    page = unescape(client_a.get(url).content.decode())
    assert "Réserver sans compte" in page and "Se connecter" in page
    _confirm_email(client_a, url)
    page = unescape(client_a.get(url).content.decode())
    assert "Coordonnées confirmées" in page
    response = client_a.post(url, {"action": "book", "first_name": "Camille", "last_name": "Martin",
                                   "for_whom": "self"})
    assert response.status_code == 302, unescape(response.content.decode())[:3000]
    done = client_a.get(response["Location"])
    html = unescape(done.content.decode())
    assert done.status_code == 200 and "Votre rendez-vous est confirmé" in html
    assert "Maison Nord" in html and ".ics" in html and "/rdv/" in html
    with tenant_context(administration_a):
        appointment = Appointment.objects.get()
        assert appointment.created_by == "citizen"
        assert appointment.starts_at == slot.starts_at
        citizen = appointment.participations.get().citizen
        assert (citizen.first_name, citizen.email, citizen.account) == ("Camille", "usager@exemple.fr", None)
    ics = client_a.get(f"/prendre-rdv/confirmation/{appointment.uuid}/rendez-vous.ics")
    assert ics.status_code == 200 and b"BEGIN:VCALENDAR" in ics.content
    # another browser cannot read the confirmation
    from tests.conftest import make_client

    other = make_client(administration_a)
    assert other.get(response["Location"]).status_code == 404


def test_phone_appointment_needs_a_valid_phone_and_books_for_a_relative(client_a, administration_a, world):
    with tenant_context(administration_a):
        slot = a_slot_after(world.org_type)
    url = _contact_url(world, kind=world.org_type, location="aucun", slot=slot, **VALENCE)
    _confirm_email(client_a, url)
    response = client_a.post(url, {"action": "book", "first_name": "Camille", "last_name": "Martin",
                                   "for_whom": "self", "phone": ""})
    assert response.status_code == 200
    assert "Indiquez le numéro auquel l'agent vous appellera" in unescape(response.content.decode())
    response = client_a.post(url, {"action": "book", "first_name": "Camille", "last_name": "Martin",
                                   "for_whom": "self", "phone": "12345"})
    assert "pas valide" in unescape(response.content.decode())
    response = client_a.post(url, {"action": "book", "first_name": "Camille", "last_name": "Martin",
                                   "for_whom": "relative", "phone": "06 12 34 56 78"})
    assert "Indiquez le prénom du proche" in unescape(response.content.decode())
    with tenant_context(administration_a):
        assert not Appointment.objects.exists() and not Citizen.objects.exists()
    response = client_a.post(url, {"action": "book", "first_name": "Camille", "last_name": "Martin",
                                   "for_whom": "relative", "relative_first_name": "Léo",
                                   "relative_last_name": "Martin", "phone": "06 12 34 56 78"})
    assert response.status_code == 302
    with tenant_context(administration_a):
        appointment = Appointment.objects.get()
        participant = appointment.participations.get().citizen
        assert participant.first_name == "Léo" and participant.responsible.phone == "+33612345678"
        assert appointment.location is None and "+33612345678" in appointment.context


def test_text_to_accept_is_required(client_a, administration_a, world):
    with tenant_context(administration_a):
        world.open_type.text_to_accept = "Venez avec votre pièce d'identité."
        world.open_type.save()
        slot = a_slot_after(world.open_type)
    url = _contact_url(world, slot=slot)
    _confirm_email(client_a, url)
    page = unescape(client_a.get(url).content.decode())
    assert "Venez avec votre pièce d'identité." in page and 'type="checkbox"' in page
    response = client_a.post(url, {"action": "book", "first_name": "A", "last_name": "B", "for_whom": "self"})
    assert "Vous devez accepter ces conditions" in unescape(response.content.decode())
    response = client_a.post(url, {"action": "book", "first_name": "A", "last_name": "B", "for_whom": "self",
                                   "accept": "on"})
    assert response.status_code == 302


def test_book_without_code_is_refused(client_a, administration_a, world):
    with tenant_context(administration_a):
        slot = a_slot_after(world.open_type)
    url = _contact_url(world, slot=slot)
    response = client_a.post(url, {"action": "book", "first_name": "A", "last_name": "B", "for_whom": "self"})
    assert response.status_code == 200 and "Réserver sans compte" in unescape(response.content.decode())
    response = client_a.post(url, {"action": "verify_code", "code": "123456"})  # no code pending
    assert response.status_code == 200
    with tenant_context(administration_a):
        assert not Appointment.objects.exists()


def test_wrong_code_and_invalid_mobile(client_a, administration_a, world):
    with tenant_context(administration_a):
        slot = a_slot_after(world.open_type)
    url = _contact_url(world, slot=slot)
    response = client_a.post(url, {"action": "send_code", "channel": "sms", "mobile": "01 23 45 67 89"})
    assert "pas un numéro de mobile valide" in unescape(response.content.decode())
    response = client_a.post(url, {"action": "send_code", "channel": "email", "email": "pas-une-adresse"})
    assert response.status_code == 200
    client_a.post(url, {"action": "send_code", "channel": "email", "email": "usager@exemple.fr"})
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    wrong = "000000" if code != "000000" else "111111"
    response = client_a.post(url, {"action": "verify_code", "code": wrong})
    assert "Code erroné" in unescape(response.content.decode())
    with tenant_context(administration_a):
        assert OneTimeCode.objects.get().attempts == 1


def test_slot_outside_the_window_is_refused(client_a, administration_a, world):
    from datetime import timedelta

    url = "/prendre-rdv/coordonnees/?" + _q(motif=world.open_type.pk, lieu=world.north_place.pk,
                                            creneau=(timezone.now() + timedelta(days=400)).isoformat())
    response = client_a.get(url)
    assert response.status_code == 409 and "pas ouvert à la réservation" in unescape(response.content.decode())
    url = "/prendre-rdv/coordonnees/?" + _q(motif=world.open_type.pk, lieu=world.north_place.pk,
                                            creneau=(timezone.now() - timedelta(days=1)).isoformat())
    assert client_a.get(url).status_code == 409


def test_slot_taken_meanwhile_shows_nearest_slots_and_books_nothing(client_a, administration_a, world):
    from scheduling.services import appointment_book_slot
    from tests.scheduling.factories import CitizenFactory

    with tenant_context(administration_a):
        slot = a_slot_after(world.open_type)
    url = _contact_url(world, slot=slot)
    _confirm_email(client_a, url)
    with tenant_context(administration_a):
        from scheduling.services import Actor

        other = CitizenFactory()
        appointment_book_slot(appointment_type=world.open_type, starts_at=slot.starts_at, citizens=[other],
                              actor=Actor(kind="citizen", label="autre"), location=world.north_place)
    response = client_a.post(url, {"action": "book", "first_name": "Camille", "last_name": "Martin",
                                   "for_whom": "self"})
    html = unescape(response.content.decode())
    assert response.status_code == 409
    assert "plus disponible" in html and "Les horaires libres les plus proches" in html
    with tenant_context(administration_a):
        assert Appointment.objects.count() == 1
        assert not Citizen.objects.filter(first_name="Camille").exists()


def test_signed_in_usager_books_for_himself_without_a_code(administration_a, world):
    from tests.conftest import login_client
    from tests.factories import UserFactory
    from tests.scheduling.factories import CitizenFactory

    with tenant_context(administration_a):
        user = UserFactory(email="camille@exemple.fr")
        citizen = CitizenFactory(account=user, first_name="Camille")
        relative = CitizenFactory(responsible=citizen, first_name="Léo")
        slot = a_slot_after(world.open_type)
    client = login_client(administration_a, user)
    url = _contact_url(world, slot=slot)
    page = unescape(client.get(url).content.decode())
    assert "Vous êtes connecté(e)" in page and f"Pour {relative}" in page
    response = client.post(url, {"action": "book", "for_whom": f"r{relative.pk}"})
    assert response.status_code == 302
    with tenant_context(administration_a):
        assert Appointment.objects.get().participations.get().citizen == relative


# --- Rate limits -----------------------------------------------------------------------------------

def test_address_search_is_rate_limited(client_a, world, ban, settings):
    settings.PUBLIC_RATE_LIMITS = {"address_search": (3, 60)}
    for _ in range(3):
        assert client_a.get("/prendre-rdv/?q=rue emile augier valence").status_code == 200
    response = client_a.get("/prendre-rdv/?q=rue emile augier valence")
    assert response.status_code == 429
    assert "Trop de demandes" in unescape(response.content.decode()) and response["Retry-After"] == "60"
    # another client address is not limited
    assert client_a.get("/prendre-rdv/?q=rue emile augier valence", REMOTE_ADDR="10.0.0.2").status_code == 200


def test_codes_and_booking_are_rate_limited(client_a, administration_a, world, settings):
    settings.PUBLIC_RATE_LIMITS = {"otp_send": (2, 600), "booking": (1, 60)}
    with tenant_context(administration_a):
        slot = a_slot_after(world.open_type)
    url = _contact_url(world, slot=slot)
    client_a.post(url, {"action": "send_code", "channel": "email", "email": "a@exemple.fr"})
    client_a.post(url, {"action": "change_contact"})
    client_a.post(url, {"action": "send_code", "channel": "email", "email": "b@exemple.fr"})
    client_a.post(url, {"action": "change_contact"})
    response = client_a.post(url, {"action": "send_code", "channel": "email", "email": "c@exemple.fr"})
    assert response.status_code == 429
    settings.PUBLIC_RATE_LIMITS = {"booking": (1, 60)}
    client_a.post(url, {"action": "change_contact"})
    _confirm_email(client_a, url, email="d@exemple.fr")
    client_a.post(url, {"action": "book", "first_name": "", "last_name": "", "for_whom": "self"})
    response = client_a.post(url, {"action": "book", "first_name": "A", "last_name": "B", "for_whom": "self"})
    assert response.status_code == 429


# --- Account ---------------------------------------------------------------------------------------

def test_signup_creates_an_usager_not_an_agent_and_returns_to_the_journey(client_a, administration_a, world):
    from scheduling.models import Agent
    from tenants.accounts.models import User

    with tenant_context(administration_a):
        slot = a_slot_after(world.open_type)
    back = _contact_url(world, slot=slot)
    page = unescape(client_a.get(back).content.decode())
    assert "/prendre-rdv/compte/?next=" in page
    signup = "/prendre-rdv/compte/?" + urlencode({"next": back})
    response = client_a.post(signup, {"first_name": "Camille", "last_name": "Martin", "email": "camille@exemple.fr",
                                      "password1": "un-mot-de-passe-solide-2026", "password2": "autre",
                                      "next": back})
    assert response.status_code == 200 and "pas identiques" in unescape(response.content.decode())
    response = client_a.post(signup, {"first_name": "Camille", "last_name": "Martin", "email": "camille@exemple.fr",
                                      "password1": "court", "password2": "court", "next": back})
    assert response.status_code == 200
    with tenant_context(administration_a):
        assert not User.objects.filter(email="camille@exemple.fr").exists()
    response = client_a.post(signup, {"first_name": "Camille", "last_name": "Martin", "email": "camille@exemple.fr",
                                      "password1": "un-mot-de-passe-solide-2026",
                                      "password2": "un-mot-de-passe-solide-2026", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    with tenant_context(administration_a):
        user = User.objects.get(email="camille@exemple.fr")
        assert user.citizen.first_name == "Camille" and not Agent.objects.filter(user=user).exists()
    page = unescape(client_a.get(back).content.decode())
    assert "Vous êtes connecté(e)" in page
    response = client_a.post(back, {"action": "book", "for_whom": "relative", "relative_first_name": "Léo",
                                    "relative_last_name": "Martin"})
    assert response.status_code == 302
    with tenant_context(administration_a):
        assert Appointment.objects.get().participations.get().citizen.responsible == user.citizen


def test_signup_refuses_a_taken_email_and_foreign_next(client_a, administration_a, agent_a):
    response = client_a.post("/prendre-rdv/compte/?next=https://ailleurs.example/", {
        "first_name": "A", "last_name": "B", "email": "agent@test-a.fr",
        "password1": "un-mot-de-passe-solide-2026", "password2": "un-mot-de-passe-solide-2026"})
    assert "Un compte existe déjà" in unescape(response.content.decode())
    response = client_a.post("/prendre-rdv/compte/", {
        "first_name": "A", "last_name": "B", "email": "nouveau@exemple.fr", "next": "https://ailleurs.example/",
        "password1": "un-mot-de-passe-solide-2026", "password2": "un-mot-de-passe-solide-2026"})
    assert response.status_code == 302 and response["Location"] == "/prendre-rdv/"


def test_invited_types_only_with_an_invitation(client_a, administration_a, world):
    from public_booking.views.journey import INVITED_SESSION_KEY

    with tenant_context(administration_a):
        world.open_type_south.bookable_by = "agents_prescribers_and_invited"
        world.open_type_south.name = "Bilan sur invitation"
        world.open_type_south.save()
    assert "Bilan sur invitation" not in client_a.get("/prendre-rdv/motifs/").content.decode()
    assert client_a.get(f"/prendre-rdv/lieux/?motif={world.open_type_south.pk}").status_code == 302
    session = client_a.session
    session[INVITED_SESSION_KEY] = [world.open_type_south.pk]
    session.save()
    assert "Bilan sur invitation" in client_a.get("/prendre-rdv/motifs/").content.decode()
    assert client_a.get(f"/prendre-rdv/lieux/?motif={world.open_type_south.pk}").status_code == 200


def test_slots_and_places_pages_have_a_constant_query_count(client_a, administration_a, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scheduling.services import Actor, appointment_book_slot
    from tests.scheduling.factories import CitizenFactory

    def counts():
        client_a.get(_slots_url(world))  # warm the session and the tenant cache
        with CaptureQueriesContext(connection) as slots:
            assert client_a.get(_slots_url(world)).status_code == 200
        with CaptureQueriesContext(connection) as places:
            assert client_a.get("/prendre-rdv/lieux/?" + _q(motif=world.open_type.pk)).status_code == 200
        return len(slots), len(places)

    def book(count):
        with tenant_context(administration_a):
            from scheduling.selectors import slots_for

            now = timezone.now()
            free = slots_for(appointment_type=world.open_type, start=now, end=now + timezone.timedelta(days=20),
                             location_id=world.north_place.pk)
            for slot in free[:count]:
                appointment_book_slot(appointment_type=world.open_type, starts_at=slot.starts_at,
                                      citizens=[CitizenFactory()], actor=Actor(kind="citizen", label="x"),
                                      location=world.north_place)

    book(3)
    small = counts()
    book(20)
    assert counts() == small


def test_tampered_posts_never_fail_and_book_nothing(client_a, administration_a, world):
    with tenant_context(administration_a):
        slot = a_slot_after(world.open_type)
    url = _contact_url(world, slot=slot)
    for data in ({"action": "inconnue"}, {"action": "send_code", "channel": "pigeon"},
                 {"action": "send_code", "channel": "sms", "mobile": "+1 202 555 0143"},
                 {"action": "verify_code", "code": "x" * 50}, {}):
        assert client_a.post(url, data).status_code in (200, 302), data
    _confirm_email(client_a, url)
    for data in ({"action": "book", "first_name": "A", "last_name": "B", "for_whom": "r999999"},
                 {"action": "book", "first_name": "A" * 300, "last_name": "B", "for_whom": "self"},
                 {"action": "book", "first_name": "A", "last_name": "B", "for_whom": "self", "phone": "x" * 100}):
        response = client_a.post(url, data)
        assert response.status_code == 200, data
    with tenant_context(administration_a):
        assert not Appointment.objects.exists()
    # a booking post without a valid type goes back to the motifs
    assert client_a.post("/prendre-rdv/coordonnees/?motif=abc", {"action": "book"}).status_code == 302


def test_usager_signs_in_with_allauth_and_comes_back_to_the_journey(client_a, administration_a, world):
    from tests.factories import PASSWORD, UserFactory
    from tests.scheduling.factories import CitizenFactory

    with tenant_context(administration_a):
        user = UserFactory(email="camille@exemple.fr")
        CitizenFactory(account=user, first_name="Camille")
        slot = a_slot_after(world.open_type)
    back = _contact_url(world, slot=slot)
    response = client_a.post("/comptes/login/?" + urlencode({"next": back}),
                             {"login": "camille@exemple.fr", "password": PASSWORD, "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert "Vous êtes connecté(e)" in unescape(client_a.get(back).content.decode())
