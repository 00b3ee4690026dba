"""Public URLs of the journey part of the usager's pages."""

urlpatterns: list = []
