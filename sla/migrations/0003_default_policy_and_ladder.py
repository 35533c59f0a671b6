from django.db import migrations

# Promised limits at least one third shorter than statutory ones (seed 002 §一(二)).
POLICIES = [
    # priority, sign, sign statutory, opinion, opinion statutory, reply, reply statutory, rating
    ("", 1, 2, 3, 5, 10, 15, 5),
    ("urgent", 1, 2, 2, 3, 5, 8, 5),
]

# Seed 003 建议(四) "红黄绿" 预警; DOMAIN.md: remind on yellow, tell the office and the
# commissioner on red, leadership (督办) when it stays red.
LADDER = [
    ("yellow", "黄灯提醒", "yellow", 0, "handlers,heads"),
    ("red", "红灯通报", "red", 0, "office,commissioner,heads"),
    ("leadership", "领导督办", "red", 3, "leaders,office"),
]


def seed(apps, schema_editor):
    Policy = apps.get_model("sla", "Policy")
    EscalationStep = apps.get_model("sla", "EscalationStep")
    for priority, s, ss, o, os_, r, rs, rating in POLICIES:
        Policy.objects.get_or_create(
            category=None,
            priority=priority,
            defaults=dict(
                sign_days=s, sign_statutory_days=ss, opinion_days=o, opinion_statutory_days=os_,
                reply_days=r, reply_statutory_days=rs, rating_days=rating,
            ),
        )
    for code, name, colour, after, targets in LADDER:
        EscalationStep.objects.get_or_create(
            code=code,
            defaults=dict(name=name, colour=colour, after_working_days=after, targets=targets),
        )


class Migration(migrations.Migration):
    dependencies = [("sla", "0002_clocks_and_escalation")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
