"""Back-office URLs of sectorisation (sectors, zones, CSV, "tester la sectorisation"; under /agents/)."""

from django.urls import path

from .views import sectors as views

urlpatterns = [
    path("secteurs/", views.sector_list, name="sectors"),
    path("secteurs/nouveau/", views.sector_create, name="sector_create"),
    path("secteurs/zones.csv", views.zones_export, name="sector_zones_export"),
    path("secteurs/import/", views.zones_import, name="sector_zones_import"),
    path("secteurs/tester/", views.sector_test, name="sector_test"),
    path("secteurs/<int:pk>/", views.sector_detail, name="sector_detail"),
    path("secteurs/<int:pk>/supprimer/", views.sector_delete, name="sector_delete"),
    path("secteurs/<int:pk>/zones/<int:zone_id>/supprimer/", views.zone_delete, name="sector_zone_delete"),
    path("secteurs/<int:pk>/attributions/<int:attribution_id>/supprimer/", views.attribution_delete,
         name="sector_attribution_delete"),
]
