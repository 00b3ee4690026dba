"""Back-office URLs of sectorisation (sectors, zones, CSV, "tester la sectorisation"; under /agents/)."""

urlpatterns: list = []
