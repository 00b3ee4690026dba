from django.contrib import admin

from .console import console_site
from .models import Administration, DevelopmentEmail, ImpersonationLog


@admin.register(Administration, site=console_site)
class AdministrationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "status", "created_at")
    list_filter = ("status", "kind")
    search_fields = ("name", "slug", "domains__domain")


@admin.register(ImpersonationLog, site=console_site)
class ImpersonationLogAdmin(admin.ModelAdmin):
    list_display = ("started_at", "support_user", "administration", "agent_email", "ended_at", "end_reason")


@admin.register(DevelopmentEmail, site=console_site)
class DevelopmentEmailAdmin(admin.ModelAdmin):
    list_display = ("sent_at", "schema_name", "to", "subject")
