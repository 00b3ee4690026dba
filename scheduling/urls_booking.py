"""Back-office URLs of the booking area (under /agents/, see scheduling.views.booking)."""

urlpatterns: list = []
