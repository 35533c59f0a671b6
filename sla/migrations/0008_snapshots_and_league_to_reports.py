"""BoardSnapshot and LeagueTable now belong to the reports app: the state only, the tables stay
(reports/migrations/0001 takes them over)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0007_sign_clock_started_index"),
        ("reports", "0001_snapshots_and_league_from_sla"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="BoardSnapshot"),
                migrations.DeleteModel(name="LeagueTable"),
            ],
            database_operations=[],
        ),
    ]
