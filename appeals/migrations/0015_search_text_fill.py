"""Data: the search words of the appeals filed before the column existed, in batches.

It segments every appeal in Python (about 1 ms each): minutes at 1,000,000 appeals. A large
database can run `manage.py search_reindex` beforehand, which does the same and is resumable;
this migration then finds nothing left to fill."""

from django.db import migrations


def fill(apps, schema_editor):
    from appeals.management.commands.search_reindex import reindex

    reindex(apps.get_model("appeals", "Appeal"), apps.get_model("appeals", "Reply"))


class Migration(migrations.Migration):
    dependencies = [("appeals", "0014_search_text")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
