"""Reporting URLs (urls_exports)."""

urlpatterns: list = []
