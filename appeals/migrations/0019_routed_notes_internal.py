"""Data: the routing notes written before the internal note existed become internal.

Until now the whole 交办意见 was shown to the enterprise, with the departments' names in one
text. Which part a commissioner meant for the enterprise cannot be told apart, so the safe
choice is taken: the old text becomes the internal note (staff see it as before) and the
enterprise's timeline keeps the event, "交办", without the text. Nothing internal leaks."""

from django.db import migrations
from django.db.models import F


def to_internal(apps, schema_editor):
    TimelineEvent = apps.get_model("appeals", "TimelineEvent")
    # One statement; an event is not a status, so no history row is missed.
    TimelineEvent.objects.filter(code="routed", internal_note="").exclude(note="").update(
        internal_note=F("note"), note=""
    )


def to_public(apps, schema_editor):
    TimelineEvent = apps.get_model("appeals", "TimelineEvent")
    TimelineEvent.objects.filter(code="routed", note="").exclude(internal_note="").update(
        note=F("internal_note"), internal_note=""
    )


class Migration(migrations.Migration):
    dependencies = [("appeals", "0018_timelineevent_internal_note")]

    operations = [migrations.RunPython(to_internal, to_public)]
