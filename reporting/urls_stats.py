"""Reporting URLs (urls_stats)."""

urlpatterns: list = []
