import pytest


@pytest.mark.django_db
def test_platform_home_lists_active_administrations(platform_client, administration_a, administration_b):
    response = platform_client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Département A" in body and "Commune B" in body
    assert "http://test-a.localhost/" in body


def test_administration_home_shows_its_name_and_sign_in(client_a):
    response = client_a.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Département A" in body
    assert "/comptes/login/" in body


def test_unknown_host_gets_french_404(db):
    from django.test import Client

    response = Client(HTTP_HOST="inconnue.localhost").get("/")
    assert response.status_code == 404
    assert "ne correspond à aucune administration" in response.content.decode()
