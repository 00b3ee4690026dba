"""Sectorisation screens (/agents/secteurs/): persona matrix, sectors, zones, attributions, CSV import and
export (all or nothing, French line errors), "tester la sectorisation" against the fake address API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_tenants.utils import tenant_context

from scheduling.models import AppointmentType, Sector, SectorAttribution, Zone
from tests.conftest import login_client, make_client
from tests.factories import UserFactory
from tests.fakes.ban import FakeBan
from tests.scheduling.api_world import build_world
from tests.scheduling.factories import AgentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(administration_a):
    world = build_world(administration_a)
    with tenant_context(administration_a):
        world.agents["head"] = AgentFactory(user=UserFactory(is_administration_admin=True),
                                            services=[world.services["pmi"]], organisation=world.org,
                                            organisation__level="admin")
        world.sector = Sector.objects.create(name="Valence", code="valence")
        world.zone = Zone.objects.create(sector=world.sector, city_code="26362", city_name="Valence")
        world.attribution = SectorAttribution.objects.create(sector=world.sector, organisation=world.org)
    return world


def client_for(world, persona):
    if persona == "anonymous":
        return make_client(world.administration)
    return login_client(world.administration, world.agents[persona].user)


def read_urls(world):
    return [reverse("sectors"), reverse("sector_detail", args=[world.sector.pk]), reverse("sector_zones_export"),
            reverse("sector_test")]


def write_posts(world):
    return [
        (reverse("sector_create"), {"name": "X", "code": "x"}),
        (reverse("sector_detail", args=[world.sector.pk]), {"form": "sector", "sector-name": "Y", "sector-code": "y"}),
        (reverse("sector_zone_delete", args=[world.sector.pk, world.zone.pk]), {}),
        (reverse("sector_attribution_delete", args=[world.sector.pk, world.attribution.pk]), {}),
        (reverse("sector_delete", args=[world.sector.pk]), {}),
    ]


def test_anonymous_is_sent_to_login(world):
    client = client_for(world, "anonymous")
    for url in [*read_urls(world), reverse("sector_create"), reverse("sector_zones_import")]:
        response = client.get(url)
        assert response.status_code == 302 and "next=" in response["Location"], url


@pytest.mark.parametrize("persona", ["basic", "colleague", "secretary", "outsider"])
def test_non_admins_get_403(world, persona):
    client = client_for(world, persona)
    for url in read_urls(world):
        assert client.get(url).status_code == 403, url
    for url, data in write_posts(world):
        assert client.post(url, data).status_code == 403, url


def test_organisation_admin_reads_but_does_not_change(world):
    client = client_for(world, "admin")
    for url in read_urls(world):
        assert client.get(url).status_code == 200, url
    assert "Créer un secteur" not in client.get(reverse("sectors")).content.decode()
    for url, data in write_posts(world):
        assert client.post(url, data).status_code == 403, url
    with tenant_context(world.administration):
        assert Sector.objects.filter(code="valence").exists() and Zone.objects.count() == 1


def test_other_administration_agent_is_refused(world, agent_b_client):
    assert agent_b_client.get(reverse("sectors")).status_code in (302, 403)


def test_administration_admin_manages_sectors_zones_and_attributions(world):
    client = client_for(world, "head")
    response = client.post(reverse("sector_create"), {"name": "Montélimar", "code": "montelimar"})
    assert response.status_code == 302
    with tenant_context(world.administration):
        sector = Sector.objects.get(code="montelimar")
    detail = reverse("sector_detail", args=[sector.pk])
    response = client.post(detail, {"form": "zone", "zone-level": "street", "zone-city_code": "26198",
                                    "zone-city_name": "Montélimar", "zone-street_ban_id": "26198_0420",
                                    "zone-street_name": "Rue du Port"})
    assert response.status_code == 302
    response = client.post(detail, {"form": "attribution", "attribution-organisation": world.org.pk,
                                    "attribution-agent": world.agents["basic"].pk})
    assert response.status_code == 302
    page = client.get(detail).content.decode()
    assert "Rue du Port" in page and str(world.agents["basic"]) in page
    with tenant_context(world.administration):
        assert SectorAttribution.objects.filter(sector=sector, agent=world.agents["basic"]).exists()
    response = client.post(reverse("sector_delete", args=[sector.pk]))
    assert response.status_code == 302
    with tenant_context(world.administration):
        assert not Sector.objects.filter(pk=sector.pk).exists()


def test_bad_input_is_refused_in_french(world):
    from html import unescape

    client = client_for(world, "head")
    detail = reverse("sector_detail", args=[world.sector.pk])
    cases = [
        ({"form": "zone", "zone-level": "city", "zone-city_code": "ABC", "zone-city_name": "X"}, "code INSEE"),
        ({"form": "zone", "zone-level": "street", "zone-city_code": "26362", "zone-city_name": "Valence"},
         "identifiant BAN"),
        ({"form": "zone", "zone-level": "city", "zone-city_code": "26362", "zone-city_name": "Valence"}, "existe déjà"),
        ({"form": "attribution", "attribution-organisation": "999999"}, "n'existe pas"),
        ({"form": "attribution", "attribution-organisation": world.org.pk}, "déjà attribué"),
        ({"form": "attribution", "attribution-organisation": world.org.pk,
          "attribution-agent": world.agents["outsider"].pk}, "pas membre"),
        ({"form": "sector", "sector-name": "", "sector-code": "pas un code !"}, "Indiquez le nom"),
        ({"form": "tampered"}, "Secteur"),
    ]
    for data, expected in cases:
        response = client.post(detail, data)
        assert response.status_code == 400, data
        assert expected in unescape(response.content.decode()), data
    with tenant_context(world.administration):
        assert Zone.objects.count() == 1 and SectorAttribution.objects.count() == 1
    assert client.get(reverse("sector_detail", args=[999999])).status_code == 404
    assert client.post(reverse("sector_zone_delete", args=[world.sector.pk, 999999])).status_code == 404


def _upload(content: str, name="zones.csv"):
    return SimpleUploadedFile(name, content.encode("utf-8"), content_type="text/csv")


def test_csv_export_then_import_round_trip(world):
    client = client_for(world, "head")
    with tenant_context(world.administration):
        Zone.objects.create(sector=world.sector, level="street", city_code="26198", city_name="Montélimar",
                            street_ban_id="26198_0420", street_name="Rue du Port")
    exported = client.get(reverse("sector_zones_export"))
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    text = exported.content.decode()
    assert text.splitlines()[0] == "secteur;niveau;code_insee;commune;identifiant_rue;rue"
    assert "valence;rue;26198;Montélimar;26198_0420;Rue du Port" in text
    with tenant_context(world.administration):
        Zone.objects.all().delete()
    response = client.post(reverse("sector_zones_import"), {"file": _upload(text)})
    assert response.status_code == 302
    with tenant_context(world.administration):
        assert Zone.objects.count() == 2
    # importing again adds nothing
    client.post(reverse("sector_zones_import"), {"file": _upload(text)})
    with tenant_context(world.administration):
        assert Zone.objects.count() == 2


def test_csv_import_is_all_or_nothing_with_line_errors(world):
    from html import unescape

    client = client_for(world, "head")
    content = ("secteur;niveau;code_insee;commune;identifiant_rue;rue\n"
               "valence;commune;26001;Albon;;\n"
               "inconnu;commune;26002;Alixan;;\n"
               "valence;quartier;26003;Allan;;\n"
               "valence;commune;ABCDE;Nulle;;\n"
               "valence;rue;26004;Allex;;\n")
    response = client.post(reverse("sector_zones_import"), {"file": _upload(content)})
    html = unescape(response.content.decode())
    assert response.status_code == 400
    for expected in ("Ligne 3 : secteur « inconnu » inconnu", "Ligne 4 : niveau « quartier »", "Ligne 5",
                     "Ligne 6 : une zone « rue »"):
        assert expected in html, expected
    with tenant_context(world.administration):
        assert Zone.objects.count() == 1
    for bad in (b"\xff\xfe\x00bad", b"nom;autre\nx;y\n"):
        response = client.post(reverse("sector_zones_import"),
                               {"file": SimpleUploadedFile("z.csv", bad, content_type="text/csv")})
        assert response.status_code == 400
    assert client.post(reverse("sector_zones_import"), {}).status_code == 400


def test_sector_test_page_shows_what_an_address_sees(world, httpserver, settings):
    ban = FakeBan(httpserver, settings)
    ban.add("3 Rue Émile Augier 26000 Valence", city_code="26362", city="Valence", street_id="26362_0100",
            street="Rue Émile Augier", housenumber="3")
    with tenant_context(world.administration):
        AppointmentType.objects.filter(pk=world.pmi_type.pk).update(
            bookable_by="everyone", sectorisation_level="organisation")
        AppointmentType.objects.filter(pk=world.other_type.pk).update(
            bookable_by="everyone", sectorisation_level="organisation")
    client = client_for(world, "admin")
    html = client.get(reverse("sector_test"), {"q": "rue emile augier valence"}).content.decode()
    assert "Secteurs : Valence" in html
    rows = html.split("<tbody>")[1]
    assert "Consultation PMI" in rows and "PMI Nord" in rows
    consult = rows.split("Consultation PMI")[1].split("</tr>")[0]
    nord = rows.split("PMI Nord")[1].split("</tr>")[0]
    assert "Oui" in consult and "Non" in nord
    settings.ADDRESS_API_URL = "http://127.0.0.1:9/"
    html = client.get(reverse("sector_test"), {"q": "rue emile augier valence"}).content.decode()
    assert "ne répond pas" in html
