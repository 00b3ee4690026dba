"""The console's pages (ModelAdmins on ``tenants.console.console_site``). They stay thin: reads come
from ``tenants.selectors``, writes from ``tenants.services`` and ``tenants.impersonation``.

Who may do what:

================================  ==========  =========
page or action                    operator    support
================================  ==========  =========
list, search, view administrations    yes        yes
create an administration              yes        no
retry a failed creation               yes        no
suspend / reactivate                  no         yes
sign in as an agent                   no         yes
impersonation log (read-only)         yes        yes
search an administration's messages   no         yes
notification settings and webhooks    yes        no
development e-mails (read-only)       no         yes
================================  ==========  =========

Operators see the list because they need to follow what they created; suspension and sign-in-as
are support work, kept apart so that each action has one accountable role. A superuser has both roles.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator, capfirst

from . import selectors, services
from .console import console_site, is_console_user
from .forms import AdministrationCreationForm, ImpersonationForm, SuspensionForm
from .impersonation import impersonation_start
from .models import Administration, DevelopmentEmail, ImpersonationLog


def _is_operator(request) -> bool:
    return is_console_user(request.user) and request.user.is_operator


def _is_support(request) -> bool:
    return is_console_user(request.user) and request.user.is_support


class ReadOnlyConsoleAdmin(admin.ModelAdmin):
    """A page that shows rows and never changes them."""

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def changelist_view(self, request, extra_context=None):
        title = capfirst(self.opts.verbose_name_plural)
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        title = capfirst(self.opts.verbose_name)
        return super().change_view(request, object_id, form_url, {"title": title, **(extra_context or {})})

    def has_view_permission(self, request, obj=None):
        return is_console_user(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Administration, site=console_site)
class AdministrationAdmin(ReadOnlyConsoleAdmin):
    list_display = (
        "name", "slug", "kind", "status_display", "domains_display", "agents_display", "appointments_display",
        "created_at",
    )
    list_display_links = ("name",)
    list_filter = ("status", "kind")
    search_fields = ("name", "slug", "domains__domain")
    search_help_text = "Rechercher par nom, identifiant ou domaine."
    list_per_page = 50
    actions = ["retry_failed"]
    fields = (
        "name", "kind", "slug", "schema_display", "timezone", "status_display", "domains_display",
        "agents_display", "appointments_display", "first_admin_email", "created_at", "created_by", "activated_at",
    )
    readonly_fields = fields

    # --- Permissions -----------------------------------------------------------------------------

    def has_add_permission(self, request):
        return _is_operator(request)

    def has_retry_permission(self, request):
        return _is_operator(request)

    def has_suspend_permission(self, request):
        return _is_support(request)

    def has_impersonate_permission(self, request):
        return _is_support(request)

    # --- Reads -----------------------------------------------------------------------------------

    def get_queryset(self, request):
        return selectors.administration_list()

    def get_search_results(self, request, queryset, search_term):
        return selectors.administration_search(queryset, search_term), False

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        counts = selectors.administration_counts(changelist.result_list)
        for administration in changelist.result_list:
            administration.console_counts = counts[administration.pk]
        return changelist

    def get_object(self, request, object_id, from_field=None):
        administration = super().get_object(request, object_id, from_field)
        if administration is not None:
            administration.console_counts = selectors.administration_counts([administration])[administration.pk]
        return administration

    @admin.display(description="statut", ordering="status")
    def status_display(self, obj):
        if obj.status == Administration.Status.FAILED:
            return format_html(
                "{} : {}", obj.get_status_display(), Truncator(obj.status_reason or "raison inconnue").chars(200)
            )
        if obj.status == Administration.Status.SUSPENDED and obj.status_reason:
            return format_html("{} ({})", obj.get_status_display(), Truncator(obj.status_reason).chars(200))
        return obj.get_status_display()

    @admin.display(description="schéma PostgreSQL")
    def schema_display(self, obj):
        return obj.schema_name

    @admin.display(description="domaines")
    def domains_display(self, obj):
        return format_html_join(", ", "{}", ((domain.domain,) for domain in obj.domains.all())) or "—"

    @admin.display(description="agents")
    def agents_display(self, obj):
        counts = getattr(obj, "console_counts", None)
        if counts is None or counts.agents is None:
            return "—"
        return counts.agents

    @admin.display(description="rendez-vous")
    def appointments_display(self, obj):
        counts = getattr(obj, "console_counts", None)
        if counts is None or counts.appointments is None:
            return "—"
        return counts.appointments

    # --- Onboarding ------------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        """Creates the record and its domain; the schema is provisioned by a Celery task."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = AdministrationCreationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                administration = services.administration_create(
                    name=data["name"], kind=data["kind"], slug=data["slug"], timezone_name=data["timezone"],
                    first_admin_email=data["first_admin_email"], created_by=request.user, provision="async",
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                self.log_addition(request, administration, [{"added": {}}])
                messages.success(
                    request,
                    f"L'administration « {administration.name} » est en cours de création. Son statut "
                    "passera à « Active » quand son espace sera prêt ; le premier administrateur recevra "
                    "alors son invitation.",
                )
                return redirect(self._change_url(administration))
        context = {
            **self.admin_site.each_context(request),
            "title": "Créer une administration",
            "subtitle": None,
            "form": form,
            "opts": self.opts,
            "has_view_permission": self.has_view_permission(request),
            "media": self.media + form.media,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/tenants/administration/add_form.html", context)

    def _change_url(self, administration):
        return reverse(
            "admin:tenants_administration_change", args=[administration.pk], current_app=self.admin_site.name
        )

    @admin.action(description="Relancer la création des administrations en échec", permissions=["retry"])
    def retry_failed(self, request, queryset):
        retried = 0
        for administration in queryset.filter(status=Administration.Status.FAILED):
            services.administration_retry(administration=administration)
            self.log_change(request, administration, "Création relancée.")
            retried += 1
        if retried:
            messages.success(request, f"Création relancée pour {retried} administration(s).")
        else:
            messages.warning(request, "Aucune des administrations choisies n'est en échec.")

    # --- Per-administration actions --------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/relancer/", wrap(self.retry_view), name="tenants_administration_retry"),
            path("<path:object_id>/suspendre/", wrap(self.suspend_view), name="tenants_administration_suspend"),
            path(
                "<path:object_id>/reactiver/", wrap(self.reactivate_view), name="tenants_administration_reactivate"
            ),
            path(
                "<path:object_id>/connexion-agent/", wrap(self.impersonate_view),
                name="tenants_administration_impersonate",
            ),
            path("<path:object_id>/messages/", wrap(self.messages_view), name="tenants_administration_messages"),
            path("<path:object_id>/notifications/", wrap(self.notification_settings_view),
                 name="tenants_administration_notification_settings"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        administration = self.get_object(request, unquote(object_id))
        extra_context = {**(extra_context or {}), **self._action_flags(request, administration)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _action_flags(self, request, administration) -> dict:
        if administration is None:
            return {}
        status = administration.status
        return {
            "can_retry": self.has_retry_permission(request) and status == Administration.Status.FAILED,
            "can_suspend": self.has_suspend_permission(request) and status == Administration.Status.ACTIVE,
            "can_reactivate": self.has_suspend_permission(request) and status == Administration.Status.SUSPENDED,
            "can_impersonate": self.has_impersonate_permission(request) and administration.is_usable,
            "can_search_messages": self.has_impersonate_permission(request) and administration.is_usable,
            "can_configure_notifications": self.has_add_permission(request) and administration.is_usable,
        }

    def _get_for_action(self, request, object_id, allowed: bool) -> Administration:
        if not allowed:
            raise PermissionDenied
        return get_object_or_404(Administration, pk=unquote(object_id))

    def _render_confirmation(self, request, administration, *, title, message, button, form=None, danger=False):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "message": message,
            "button": button,
            "danger": danger,
            "form": form,
            "object": administration,
            "opts": self.opts,
            "change_url": self._change_url(administration),
        }
        return TemplateResponse(request, "admin/tenants/administration/confirm_action.html", context)

    def _run(self, request, administration, action, success: str, log: str):
        try:
            action()
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            self.log_change(request, administration, log)
            messages.success(request, success)
        return HttpResponseRedirect(self._change_url(administration))

    def retry_view(self, request, object_id):
        administration = self._get_for_action(request, object_id, self.has_retry_permission(request))
        if request.method == "POST":
            return self._run(
                request, administration, lambda: services.administration_retry(administration=administration),
                f"La création de « {administration.name} » est relancée.", "Création relancée.",
            )
        return self._render_confirmation(
            request, administration, title=f"Relancer la création de « {administration.name} »",
            message="L'espace de cette administration sera recréé depuis le début, en tâche de fond. "
            f"Dernière erreur : {administration.status_reason or 'inconnue'}.",
            button="Relancer la création",
        )

    def suspend_view(self, request, object_id):
        administration = self._get_for_action(request, object_id, self.has_suspend_permission(request))
        form = SuspensionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            return self._run(
                request, administration,
                lambda: services.administration_suspend(
                    administration=administration, reason=form.cleaned_data["reason"]
                ),
                f"L'administration « {administration.name} » est suspendue.", "Administration suspendue.",
            )
        return self._render_confirmation(
            request, administration, title=f"Suspendre « {administration.name} »",
            message="Ses pages afficheront « service suspendu » à tous, usagers comme agents, jusqu'à sa "
            "réactivation. Seul le support pourra encore s'y connecter en tant qu'agent. Aucune donnée "
            "n'est supprimée.",
            button="Suspendre l'administration", form=form, danger=True,
        )

    def reactivate_view(self, request, object_id):
        administration = self._get_for_action(request, object_id, self.has_suspend_permission(request))
        if request.method == "POST":
            return self._run(
                request, administration,
                lambda: services.administration_reactivate(administration=administration),
                f"L'administration « {administration.name} » est réactivée.", "Administration réactivée.",
            )
        return self._render_confirmation(
            request, administration, title=f"Réactiver « {administration.name} »",
            message="Ses pages seront de nouveau accessibles aux usagers et aux agents.",
            button="Réactiver l'administration",
        )

    def impersonate_view(self, request, object_id):
        administration = self._get_for_action(request, object_id, self.has_impersonate_permission(request))
        form = ImpersonationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                url = impersonation_start(
                    support_user=request.user, administration=administration,
                    agent_email=form.cleaned_data["agent_email"], reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                return HttpResponseRedirect(url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Se connecter en tant qu'agent de « {administration.name} »",
            "subtitle": None,
            "form": form,
            "object": administration,
            "opts": self.opts,
            "change_url": self._change_url(administration),
            "max_minutes": _max_minutes(),
        }
        return TemplateResponse(request, "admin/tenants/administration/impersonate.html", context)


    def messages_view(self, request, object_id):
        """Support: the notifications of an administration (e-mails, SMS, webhooks), to answer "I never
        got my reminder": each row says sent, failed with its reason, or skipped and why."""
        from django_tenants.utils import tenant_context

        from messaging.forms import MessageSearchForm
        from messaging.selectors import SEARCH_LIMIT, messages_search

        administration = self._get_for_action(request, object_id, self.has_impersonate_permission(request))
        if not administration.is_usable:
            raise PermissionDenied
        form = MessageSearchForm(request.GET or None)
        rows = []
        if form.is_valid():
            with tenant_context(administration):
                rows = list(messages_search(**form.cleaned_data))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Notifications de « {administration.name} »",
            "subtitle": None, "form": form, "rows": rows, "limit": SEARCH_LIMIT, "searched": bool(request.GET),
            "object": administration, "opts": self.opts, "change_url": self._change_url(administration),
        }
        return TemplateResponse(request, "admin/tenants/administration/messages.html", context)


    def notification_settings_view(self, request, object_id):
        """Operators: the administration's sender, SMS provider, reminders, and its organisations' webhooks."""
        from django_tenants.utils import tenant_context

        from messaging.forms import MessagingSettingsForm, WebhookEndpointForm
        from messaging.models import MessagingSettings, WebhookEndpoint

        administration = self._get_for_action(request, object_id, self.has_add_permission(request))
        if not administration.is_usable:
            raise PermissionDenied
        here = reverse("admin:tenants_administration_notification_settings", args=[administration.pk])
        with tenant_context(administration):
            action = request.POST.get("action") if request.method == "POST" else None
            settings_form = MessagingSettingsForm(
                request.POST if action == "settings" else None, instance=MessagingSettings.load(), prefix="s"
            )
            webhook_form = WebhookEndpointForm(request.POST if action == "webhook" else None, prefix="w")
            if action == "settings" and settings_form.is_valid():
                settings_form.save()
                messages.success(request, "Réglages des notifications enregistrés.")
                return HttpResponseRedirect(here)
            if action == "webhook" and webhook_form.is_valid():
                webhook_form.save()
                messages.success(request, "Webhook ajouté.")
                return HttpResponseRedirect(here)
            if action == "delete_webhook":
                deleted, _ = WebhookEndpoint.objects.filter(pk=_int_or_none(request.POST.get("webhook"))).delete()
                if deleted:
                    messages.success(request, "Webhook supprimé.")
                else:
                    messages.error(request, "Ce webhook n'existe plus.")
                return HttpResponseRedirect(here)
            context = {
                **self.admin_site.each_context(request),
                "title": f"Notifications de « {administration.name} » : réglages",
                "subtitle": None, "settings_form": settings_form, "webhook_form": webhook_form,
                "webhooks": list(WebhookEndpoint.objects.select_related("organisation").order_by("organisation__name",
                                                                                                "target_url")),
                "object": administration, "opts": self.opts, "change_url": self._change_url(administration),
            }
            # Rendered inside the schema: the forms' choices (organisations) are read while rendering.
            return TemplateResponse(request, "admin/tenants/administration/notification_settings.html",
                                    context).render()


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _max_minutes() -> int:
    from django.conf import settings

    return settings.IMPERSONATION_MAX_SECONDS // 60


@admin.register(ImpersonationLog, site=console_site)
class ImpersonationLogAdmin(ReadOnlyConsoleAdmin):
    list_display = (
        "started_at", "support_user", "administration", "agent_email", "reason_display", "ended_at",
        "end_reason_display",
    )
    list_filter = (
        ("administration", admin.RelatedOnlyFieldListFilter),
        ("support_user", admin.RelatedOnlyFieldListFilter),
        "end_reason",
        "started_at",
    )
    search_fields = ("agent_email", "reason", "support_user__email", "administration__name")
    search_help_text = "Rechercher par e-mail de l'agent, motif, membre du support ou administration."
    date_hierarchy = "started_at"
    fields = (
        "support_user", "administration", "agent_email", "agent_id", "reason", "started_at", "expires_at",
        "consumed_at", "ended_at", "end_reason_display",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.impersonation_log_list()

    @admin.display(description="motif")
    def reason_display(self, obj):
        return Truncator(obj.reason).chars(80)

    @admin.display(description="fin par", ordering="end_reason")
    def end_reason_display(self, obj):
        if obj.ended_at:
            return obj.end_reason or "—"
        return "en cours" if obj.is_live() else "expirée (non refermée)"


@admin.register(DevelopmentEmail, site=console_site)
class DevelopmentEmailAdmin(ReadOnlyConsoleAdmin):
    list_display = ("sent_at", "schema_name", "to", "subject")
    list_filter = ("schema_name",)
    search_fields = ("to", "subject")
    search_help_text = "Rechercher par destinataire ou objet."
    date_hierarchy = "sent_at"
    fields = ("sent_at", "schema_name", "from_email", "to", "subject", "body_display", "html_display")
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return _is_support(request)

    @admin.display(description="texte")
    def body_display(self, obj):
        return format_html('<pre class="console-email-body">{}</pre>', obj.body)

    @admin.display(description="HTML (source)")
    def html_display(self, obj):
        if not obj.html:
            return "—"
        return format_html('<pre class="console-email-body">{}</pre>', obj.html)
