"""Public URLs of the self_service part of the usager's pages."""

urlpatterns: list = []
