"""BoardSnapshot and LeagueTable move from the sla app to reports: the state only. The tables
(sla_boardsnapshot, sla_leaguetable) exist already and keep their names."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("sla", "0007_sign_clock_started_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="BoardSnapshot",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("live", "实时"), ("daily", "日终")], max_length=5)),
                        ("taken_at", models.DateTimeField()),
                        ("day", models.DateField(blank=True, null=True)),
                        ("data", models.JSONField()),
                    ],
                    options={
                        "verbose_name": "看板快照",
                        "verbose_name_plural": "看板快照",
                        "db_table": "sla_boardsnapshot",
                        "indexes": [models.Index(fields=["kind", "-taken_at"], name="snapshot_latest_idx")],
                        "constraints": [models.UniqueConstraint(condition=models.Q(("kind", "daily")), fields=("day",), name="snapshot_one_daily_per_day")],
                    },
                ),
                migrations.CreateModel(
                    name="LeagueTable",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("quarter", models.CharField(max_length=7, unique=True, verbose_name="季度")),
                        ("published_at", models.DateTimeField(verbose_name="发布时间")),
                        ("data", models.JSONField()),
                        ("published_by", models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name": "季度红黑榜",
                        "verbose_name_plural": "季度红黑榜",
                        "db_table": "sla_leaguetable",
                        "ordering": ["-quarter"],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
