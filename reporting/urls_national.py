"""National public statistics on the platform host (public schema)."""

urlpatterns: list = []
