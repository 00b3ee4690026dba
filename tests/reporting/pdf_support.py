"""Reading the PDFs the tests receive: text of every page, and a page rendered to an image (pypdfium2)."""

from __future__ import annotations

import pypdfium2


def pdf_text(content: bytes) -> str:
    """The text of every page, whitespace folded (WeasyPrint may break lines anywhere)."""
    assert content.startswith(b"%PDF"), content[:100]
    document = pypdfium2.PdfDocument(content)
    try:
        pages = []
        for page in document:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return " ".join(" ".join(pages).split())
    finally:
        document.close()


def page_count(content: bytes) -> int:
    document = pypdfium2.PdfDocument(content)
    try:
        return len(document)
    finally:
        document.close()


def page_image(content: bytes, index: int = 0):
    """A page as a PIL image (what a person would look at)."""
    document = pypdfium2.PdfDocument(content)
    try:
        page = document[index]
        image = page.render(scale=1).to_pil()
        page.close()
        return image
    finally:
        document.close()


def page_fonts(content: bytes, index: int = 0) -> set[str]:
    """Names of the fonts the page's text is drawn with ("ABCDEF+Marianne": subset prefix kept)."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    document = pypdfium2.PdfDocument(content)
    try:
        page = document[index]
        textpage = page.get_textpage()
        names, buffer, flags = set(), ctypes.create_string_buffer(256), ctypes.c_int()
        for char in range(textpage.count_chars()):
            if pdfium_c.FPDFText_GetFontInfo(textpage.raw, char, buffer, 256, ctypes.byref(flags)):
                names.add(buffer.value.decode(errors="replace"))
        textpage.close()
        page.close()
        return names
    finally:
        document.close()
