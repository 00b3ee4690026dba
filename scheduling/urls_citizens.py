"""Back-office URLs of the citizens area (under /agents/, see scheduling.views.citizens)."""

urlpatterns: list = []
