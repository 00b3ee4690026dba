"""Reads of the platform (public schema) for the console: administrations and what their schemas hold."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from psycopg import sql

from .models import Administration, Domain, ImpersonationLog

# What the console counts in each administration's schema: the name of the figure and the SQL
# that computes it for one schema (schema-qualified tables, so one UNION ALL query covers every
# listed administration). The product apps register their own figures (``register_counter``) from
# their AppConfig.ready, so the platform never imports them.


def count_rows(schema: str, table: str, where: str = "") -> sql.Composable:
    query = sql.SQL("(SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    if where:
        query += sql.SQL(" WHERE ") + sql.SQL(where)
    return query + sql.SQL(")")


def _agent_table() -> str:
    return get_user_model()._meta.db_table


TENANT_COUNTERS = {
    "agents": lambda schema: count_rows(schema, _agent_table(), "is_active"),
}


def register_counter(name: str, sql_for_schema) -> None:
    """Add (or replace) a figure of the console's administration list: ``name`` must be a field of
    ``TenantCounts``; ``sql_for_schema(schema)`` returns a parenthesised scalar subquery."""
    if name not in TenantCounts.__dataclass_fields__:
        raise ValueError(f"unknown console figure {name!r}")
    TENANT_COUNTERS[name] = sql_for_schema


@dataclass(frozen=True)
class TenantCounts:
    agents: int | None = None
    appointments: int | None = None

    @property
    def available(self) -> bool:
        return self.agents is not None


def administration_list() -> QuerySet[Administration]:
    """Administrations as the console lists them, with their domains in one extra query."""
    return Administration.objects.select_related("created_by").prefetch_related(
        Prefetch("domains", queryset=Domain.objects.order_by("-is_primary", "domain"))
    )


def administration_search(queryset: QuerySet[Administration], term: str) -> QuerySet[Administration]:
    """Name, slug or any of its domains, case-insensitive."""
    term = (term or "").strip()
    if not term:
        return queryset
    return queryset.filter(
        Q(name__icontains=term) | Q(slug__icontains=term) | Q(domains__domain__icontains=term)
    ).distinct()


def _schemas_with_table(schemas: list[str], table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND n.nspname = ANY(%s)",
            [table, schemas],
        )
        return {row[0] for row in cursor.fetchall()}


def administration_counts(administrations: Iterable[Administration]) -> dict[int, TenantCounts]:
    """Figures of each administration's schema, in two queries whatever the number listed.

    Administrations whose schema is not (or no longer) there - pending, failed - get empty counts
    instead of breaking the page.
    """
    by_schema = {
        administration.schema_name: administration.pk
        for administration in administrations
        if administration.status in (Administration.Status.ACTIVE, Administration.Status.SUSPENDED)
    }
    counts: dict[int, TenantCounts] = {administration.pk: TenantCounts() for administration in administrations}
    if not by_schema:
        return counts
    present = _schemas_with_table(sorted(by_schema), _agent_table())
    if not present:
        return counts
    names = list(TENANT_COUNTERS)
    selects = []
    for schema in sorted(present):
        columns = [sql.Literal(schema)] + [TENANT_COUNTERS[name](schema) for name in names]
        selects.append(sql.SQL("SELECT ") + sql.SQL(", ").join(columns))
    query = sql.SQL(" UNION ALL ").join(selects)
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection))
        for schema, *values in cursor.fetchall():
            counts[by_schema[schema]] = TenantCounts(**dict(zip(names, values, strict=True)))
    return counts


def impersonation_log_list() -> QuerySet[ImpersonationLog]:
    return ImpersonationLog.objects.select_related("support_user", "administration")
