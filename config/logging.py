"""Logging helpers: every record carries the schema of the administration being served."""

import logging


class SchemaFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "schema_name"):
            try:
                from django.db import connection

                record.schema_name = getattr(connection, "schema_name", None) or "-"
            except Exception:  # settings not ready, or no database backend yet
                record.schema_name = "-"
        return True
