from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations


class Migration(migrations.Migration):
    """btree_gist in the public schema (shared app migration), on every search path: the exclusion
    constraint against double booking in each administration's schema uses it."""

    dependencies = [("tenants", "0001_initial")]
    operations = [BtreeGistExtension()]
