"""Reporting URLs (urls_pdf)."""

urlpatterns: list = []
