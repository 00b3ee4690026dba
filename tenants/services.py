"""Every write of the platform: creating, provisioning, suspending administrations."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists, tenant_context

from .models import Administration, Domain
from .validators import schema_name_for

logger = logging.getLogger(__name__)


def administration_create(
    *,
    name: str,
    kind: str,
    slug: str,
    timezone_name: str = "Europe/Paris",
    first_admin_email: str,
    created_by=None,
    provision: str = "async",
) -> Administration:
    """Record a new administration and its domain, then provision its schema.

    ``provision="async"`` hands the schema creation to a Celery task once the transaction commits
    (the console); ``"sync"`` does it now (the management command). Raises ``ValidationError``
    with French messages and creates nothing on bad input.
    """
    slug = (slug or "").strip().lower()
    administration = Administration(
        name=(name or "").strip(),
        kind=kind,
        slug=slug,
        schema_name=schema_name_for(slug),
        timezone=(timezone_name or "").strip(),
        first_admin_email=(first_admin_email or "").strip().lower(),
        status=Administration.Status.PENDING,
        created_by=created_by,
    )
    administration.full_clean(exclude=["schema_name"])
    domain_name = administration.primary_domain
    if Domain.objects.filter(domain=domain_name).exists():
        raise ValidationError({"slug": ["Ce sous-domaine est déjà utilisé."]})
    if schema_exists(administration.schema_name):
        raise ValidationError({"slug": ["Un schéma de ce nom existe déjà dans la base de données."]})

    with transaction.atomic():
        administration.save()
        Domain.objects.create(domain=domain_name, tenant=administration, is_primary=True)
        if provision == "async":
            transaction.on_commit(lambda: _enqueue_provisioning(administration.pk))
    if provision == "sync":
        administration = administration_provision(administration_id=administration.pk)
    return administration


def _enqueue_provisioning(administration_id: int) -> None:
    from .tasks import provision_administration

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        provision_administration.delay(administration_id)


def _drop_schema(schema_name: str) -> None:
    from django_tenants.utils import get_public_schema_name
    from psycopg import sql

    if schema_name == get_public_schema_name():  # never, whatever the data says
        raise RuntimeError("Refusing to drop the public schema.")
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name)))


def administration_provision(*, administration_id: int) -> Administration:
    """Create and migrate the schema, invite the first admin, mark the administration active.

    Safe to run again: an active administration is left alone; a pending or failed one starts
    from a clean slate (any half-made schema is dropped first). On failure the schema is dropped
    and the administration is marked failed with the reason.
    """
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        with transaction.atomic():
            administration = Administration.objects.select_for_update().get(pk=administration_id)
            if administration.status not in (Administration.Status.PENDING, Administration.Status.FAILED):
                return administration
            administration.status = Administration.Status.PENDING
            administration.status_reason = ""
            administration.save(update_fields=["status", "status_reason"])

        try:
            _drop_schema(administration.schema_name)
            administration.create_schema(check_if_exists=False, sync_schema=True, verbosity=0)
            with tenant_context(administration):
                from .accounts.services import agent_invite

                agent_invite(
                    administration=administration,
                    email=administration.first_admin_email,
                    is_administration_admin=True,
                )
        except Exception as exc:
            logger.exception("Provisioning of administration %s failed", administration.slug)
            connection.set_schema_to_public()
            try:
                _drop_schema(administration.schema_name)
            except Exception:  # the reason below matters more than a failed clean-up
                logger.exception("Could not drop schema %s after a failed provisioning", administration.schema_name)
            administration.status = Administration.Status.FAILED
            administration.status_reason = f"{type(exc).__name__}: {exc}"[:1000]
            administration.save(update_fields=["status", "status_reason"])
            return administration

        administration.status = Administration.Status.ACTIVE
        administration.activated_at = timezone.now()
        administration.save(update_fields=["status", "activated_at"])
        logger.info("Administration %s is active", administration.slug)
        return administration


def administration_retry(*, administration: Administration) -> Administration:
    if administration.status != Administration.Status.FAILED:
        raise ValidationError("Seule une création en échec peut être relancée.")
    with transaction.atomic():
        administration.status = Administration.Status.PENDING
        administration.status_reason = ""
        administration.save(update_fields=["status", "status_reason"])
        transaction.on_commit(lambda: _enqueue_provisioning(administration.pk))
    return administration


def administration_suspend(*, administration: Administration, reason: str = "") -> Administration:
    if administration.status != Administration.Status.ACTIVE:
        raise ValidationError("Seule une administration active peut être suspendue.")
    administration.status = Administration.Status.SUSPENDED
    administration.status_reason = reason.strip()
    administration.save(update_fields=["status", "status_reason"])
    return administration


def administration_reactivate(*, administration: Administration) -> Administration:
    if administration.status != Administration.Status.SUSPENDED:
        raise ValidationError("Seule une administration suspendue peut être réactivée.")
    administration.status = Administration.Status.ACTIVE
    administration.status_reason = ""
    administration.save(update_fields=["status", "status_reason"])
    return administration


# --- Back office: an administration's look (its admins, from /agents/administration/) ---------------

def administration_branding_set(
    *, administration: Administration, brand_colour: str, logo=None, remove_logo: bool = False,
) -> Administration:
    """Theme colour and logo of an administration (its row lives in the public schema; the logo file is
    stored under its own media folder). Raises ``ValidationError`` in French, changing nothing."""
    from .validators import validate_brand_colour

    validate_brand_colour(brand_colour)
    fields = ["brand_colour"]
    old_logo = administration.logo.name if administration.logo else ""
    administration.brand_colour = brand_colour.lower()
    if logo is not None:
        administration.logo.save(logo.name, logo, save=False)
        fields.append("logo")
    elif remove_logo and old_logo:
        administration.logo = ""
        fields.append("logo")
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        administration.save(update_fields=fields)
    if "logo" in fields and old_logo:
        administration.logo.storage.delete(old_logo)
    return administration
