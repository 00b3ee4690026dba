"""Back-office URLs of the administration area (under /agents/, see scheduling.views.administration)."""

urlpatterns: list = []
