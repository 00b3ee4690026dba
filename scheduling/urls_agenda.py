"""Back-office URLs of the agenda area (under /agents/, see scheduling.views.agenda)."""

urlpatterns: list = []
