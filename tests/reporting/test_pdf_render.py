"""The PDF renderer: offline (only our static files and data: URIs), the administration's look in the header."""

from __future__ import annotations

import io

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from django.core.files.base import ContentFile
from django_tenants.utils import tenant_context
from PIL import Image

from reporting import documents
from reporting.pdf import LOCAL_ORIGIN, ResourceRefused, render_pdf, static_file
from tests.reporting.pdf_support import page_fonts, pdf_text
from tests.scheduling.api_world import build_world


def test_static_files_are_served_and_nothing_else():
    content, content_type = static_file(f"{LOCAL_ORIGIN}/static/reporting/pdf.css")
    assert b"@page" in content and content_type == "text/css"
    for url in (
        "https://example.org/static/reporting/pdf.css",  # another host
        f"{LOCAL_ORIGIN}/media/test_a/branding/logo.png",  # not a static file
        f"{LOCAL_ORIGIN}/static/../config/settings/base.py",
        f"{LOCAL_ORIGIN}/static/reporting/absent.css",
        "file:///etc/passwd",
    ):
        with pytest.raises(ResourceRefused):
            static_file(url)


def test_rendering_never_fetches_from_the_network(httpserver):
    httpserver.expect_request("/logo.png").respond_with_data(b"not reached", content_type="image/png")
    remote = httpserver.url_for("/logo.png")
    content = render_pdf(
        f'<html><head><link rel="stylesheet" href="{httpserver.url_for("/style.css")}">'
        '<link rel="stylesheet" href="/static/reporting/pdf.css"></head>'
        f'<body><h1>Sans réseau</h1><img src="{remote}" alt=""><img src="file:///etc/hostname" alt=""></body></html>'
    )
    assert "Sans réseau" in pdf_text(content)
    assert httpserver.log == []  # neither the image nor the stylesheet was requested
    assert "Page 1 / 1" in pdf_text(content)  # while our static stylesheet was applied (page numbers)


def _image_objects(content: bytes) -> int:
    document = pypdfium2.PdfDocument(content)
    try:
        page = document[0]
        return len(list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])))
    finally:
        document.close()


def test_the_header_shows_the_administration_logo(administration_a):
    world = build_world(administration_a)
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), "#1d4ed8").save(buffer, format="PNG")
    with tenant_context(administration_a):
        appointment = world.appointments["pmi_appt"]
        without_logo = documents.confirmation_pdf(appointment)
        administration_a.logo.save("logo-test.png", ContentFile(buffer.getvalue()), save=False)
        try:
            assert documents.branding()["logo"].startswith("data:image/png;base64,")
            with_logo = documents.confirmation_pdf(appointment)
        finally:
            administration_a.logo.delete(save=False)
    assert _image_objects(without_logo) == 0 and _image_objects(with_logo) == 1


def test_state_services_get_the_marianne_font(administration_etat):
    world = build_world(administration_etat)
    with tenant_context(administration_etat):
        content = documents.confirmation_pdf(world.appointments["pmi_appt"])
        assert documents.branding()["is_state"] is True
    assert any(name.endswith("+Marianne") for name in page_fonts(content))
    assert "Préfecture de test" in pdf_text(content)


def test_collectivities_do_not_get_the_state_font(administration_b):
    world = build_world(administration_b)
    with tenant_context(administration_b):
        content = documents.confirmation_pdf(world.appointments["pmi_appt"])
    fonts = page_fonts(content)
    assert fonts and not any("Marianne" in name for name in fonts) and "Commune B" in pdf_text(content)


def test_documents_are_tagged_pdfs_with_a_title():
    content = render_pdf('<html lang="fr"><head><title>Titre du document</title></head><body><h1>Bonjour</h1>'
                         "<p>Texte.</p></body></html>")
    document = pypdfium2.PdfDocument(content)
    try:
        assert pdfium_c.FPDFCatalog_IsTagged(document.raw)  # structure for screen readers (PDF/UA-1)
        assert document.get_metadata_dict()["Title"] == "Titre du document"
    finally:
        document.close()
