"""Bench-only URLconf, mounted as ROOT_URLCONF by every bench settings module (tenant and plain)."""

from django.urls import path

from bench.views import ping

urlpatterns = [path("bench/ping/", ping, name="bench_ping")]
