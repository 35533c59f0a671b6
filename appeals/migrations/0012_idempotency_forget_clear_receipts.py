"""The idempotency store kept receipts (with query codes) in clear: forget them before the
store seals its receipts (0012). A retry of a filing made before the upgrade within its day
is refused as a reused key instead of replayed; no appeal is lost."""

from django.db import migrations


def forget(apps, schema_editor):
    apps.get_model("appeals", "IdempotencyKey").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("appeals", "0011_reply_head_reviewed_by")]

    operations = [migrations.RunPython(forget, migrations.RunPython.noop)]
