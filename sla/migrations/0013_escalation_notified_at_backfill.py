"""Escalations written before the outbox were notified in the sweep's own transaction: mark
them notified, or the fan-out's re-drive would tell everyone again."""

from django.db import migrations
from django.db.models import F


def backfill(apps, schema_editor):
    Escalation = apps.get_model("sla", "Escalation")
    Escalation.objects.filter(notified_at__isnull=True, skipped=False).update(
        notified_at=F("created_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0012_escalation_notified_at"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
