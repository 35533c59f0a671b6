"""The default urgent policy routes within the working day (Beijing's 接诉即办 routes urgent
items within hours); everything else within one working day (the field's default)."""

from django.db import migrations


def urgent_same_day(apps, schema_editor):
    Policy = apps.get_model("sla", "Policy")
    Policy.objects.filter(category=None, priority="urgent").update(triage_days=0)


class Migration(migrations.Migration):
    dependencies = [("sla", "0009_triage_and_promise_clocks")]
    operations = [migrations.RunPython(urgent_same_day, migrations.RunPython.noop)]
