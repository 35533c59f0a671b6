"""What the office reads, stored: board snapshots and published league tables. Both were
created by the sla app; their tables keep its names (see migrations/0001)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BoardSnapshot(models.Model):
    """The battle map's figures at one moment. The dashboard reads only these, so its cost does
    not grow with the number of appeals. Live snapshots are published every few minutes and
    pruned; one daily snapshot per day is frozen and never changes afterwards."""

    class Kind(models.TextChoices):
        LIVE = "live", _("实时")
        DAILY = "daily", _("日终")

    kind = models.CharField(max_length=5, choices=Kind.choices)
    taken_at = models.DateTimeField()
    day = models.DateField(null=True, blank=True)
    data = models.JSONField()

    class Meta:
        db_table = "sla_boardsnapshot"  # created by the sla app, before reports existed
        verbose_name = _("看板快照")
        verbose_name_plural = _("看板快照")
        constraints = [
            models.UniqueConstraint(
                fields=["day"], condition=Q(kind="daily"), name="snapshot_one_daily_per_day"
            )
        ]
        indexes = [
            # The dashboard: the latest live snapshot.
            models.Index(fields=["kind", "-taken_at"], name="snapshot_latest_idx"),
        ]


class LeagueTable(models.Model):
    """A quarter's league of departments (骏马 fastest, 蜗牛 slowest). Frozen once published:
    the row is written once and never updated."""

    quarter = models.CharField(_("季度"), max_length=7, unique=True)  # e.g. 2026Q3
    published_at = models.DateTimeField(_("发布时间"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField()

    class Meta:
        db_table = "sla_leaguetable"  # created by the sla app, before reports existed
        verbose_name = _("季度红黑榜")
        verbose_name_plural = _("季度红黑榜")
        ordering = ["-quarter"]

    def __str__(self) -> str:
        return self.quarter
