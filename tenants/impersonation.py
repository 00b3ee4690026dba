"""Support staff signing in as an agent ("se connecter en tant que"): at most one hour, with a
reason, every start and end written to ``ImpersonationLog``."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, logout
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from .models import Administration, ImpersonationLog

_SALT = "tenants.impersonation"
# The signed link from the console to the administration's host is good for two minutes, once.
_LINK_MAX_AGE = 120


def impersonation_start(*, support_user, administration: Administration, agent_email: str, reason: str) -> str:
    """Record the start and return the one-time URL on the administration's host that opens it."""
    if not support_user.is_support:
        raise ValidationError("Seul le support peut se connecter en tant qu'agent.")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ValidationError({"reason": ["Indiquez le motif de la connexion (10 caractères au moins)."]})
    if not administration.is_usable:
        raise ValidationError("Cette administration n'est pas encore active.")
    email = (agent_email or "").strip().lower()
    with tenant_context(administration):
        agent = get_user_model().objects.filter(email=email, is_active=True).first()
        agent_id = agent.pk if agent else None
    if agent_id is None:
        raise ValidationError({"agent_email": ["Aucun agent actif avec cette adresse dans cette administration."]})
    now = timezone.now()
    log = ImpersonationLog.objects.create(
        support_user=support_user, administration=administration, agent_id=agent_id, agent_email=email,
        reason=reason, started_at=now, expires_at=now + timedelta(seconds=settings.IMPERSONATION_MAX_SECONDS),
    )
    token = signing.dumps({"id": log.pk}, salt=_SALT)
    return administration.url(reverse("impersonation_enter", kwargs={"token": token}, urlconf="config.urls"))


def impersonation_enter(*, request, token: str) -> ImpersonationLog:
    """Open the session on the administration's host. Raises ``ValidationError`` (French) for a
    tampered, stale, reused or foreign link."""
    from django.contrib.auth import login

    try:
        data = signing.loads(token, salt=_SALT, max_age=_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError("Ce lien de connexion a expiré. Recommencez depuis la console.") from None
    except signing.BadSignature:
        raise ValidationError("Ce lien de connexion n'est pas valide.") from None
    with transaction.atomic():
        log = ImpersonationLog.objects.select_for_update().filter(pk=data.get("id")).first()
        if log is None or log.administration_id != request.tenant.pk:
            raise ValidationError("Ce lien de connexion n'est pas valide.")
        if log.consumed_at is not None or not log.is_live():
            raise ValidationError("Ce lien de connexion a déjà servi ou a expiré.")
        agent = get_user_model().objects.filter(pk=log.agent_id, is_active=True).first()
        if agent is None:
            raise ValidationError("Cet agent n'existe plus ou a été désactivé.")
        log.consumed_at = timezone.now()
        log.save(update_fields=["consumed_at"])
    logout(request)
    login(request, agent, backend="django.contrib.auth.backends.ModelBackend")
    request.session["impersonation_id"] = log.pk
    # The session deliberately outlives the hour (it keeps the usual session age): the hour is
    # enforced on every request by ``current_impersonation``, which ends the log with "expiration"
    # and shows the expired page. A session expiring at the same instant would make the next
    # request merely anonymous, and the log would never record how the impersonation ended.
    return log


def impersonation_end(*, request, end_reason: str) -> None:
    impersonation_id = request.session.get("impersonation_id")
    if impersonation_id is not None:
        ImpersonationLog.objects.filter(pk=impersonation_id, ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason=end_reason
        )
    logout(request)


def current_impersonation(request, impersonation_id):
    """(log, None) while the impersonation is live; otherwise end it and (None, response)."""
    from .middleware import render_page

    # Users live in both the public schema (support staff) and each administration's schema
    # (agents): on an administration's host an unqualified join to the users table would reach
    # the *agents* table. The log and its support member are read in the public schema.
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        log = ImpersonationLog.objects.select_related("support_user").filter(pk=impersonation_id).first()
    if log is not None and log.is_live() and log.administration_id == request.tenant.pk:
        return log, None
    impersonation_end(request=request, end_reason="expiration")
    return None, render_page(request, "errors/impersonation_expired.html", 403)
