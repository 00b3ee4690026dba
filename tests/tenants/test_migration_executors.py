"""migrate_schemas leaves out the schemas with nothing to apply (docs/decisions/0004)."""

from types import SimpleNamespace

from django.db import connection
from psycopg import sql

from tenants.migration_executors import get_executor, pending_schemas


def _executor(**options):
    return SimpleNamespace(options={"verbosity": 0, **options}, TENANT_DB_ALIAS="default",
                           PUBLIC_SCHEMA_NAME="public")


def test_up_to_date_schemas_are_skipped_the_public_one_and_missing_ones_kept(administration_a):
    schemas = ["public", administration_a.schema_name, "no_such_schema"]
    assert pending_schemas(_executor(), schemas) == ["public", "no_such_schema"]


def test_a_schema_missing_one_migration_is_kept(administration_a):
    schema = administration_a.schema_name
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DELETE FROM {}.django_migrations WHERE id = (SELECT max(id) FROM {}.django_migrations)")
                       .format(sql.Identifier(schema), sql.Identifier(schema)))
    assert pending_schemas(_executor(), [schema]) == [schema]


def test_targets_and_fake_runs_keep_every_schema(administration_a):
    schema = administration_a.schema_name
    for options in ({"fake": True}, {"app_label": "scheduling"}, {"plan": True}, {"prune": True}):
        assert pending_schemas(_executor(**options), [schema]) == [schema]


def test_wraps_the_requested_executor():
    assert get_executor("multiprocessing").codename == "multiprocessing"
    assert get_executor("standard").codename == "standard"
