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


class ExportJob(models.Model):
    """One export asked for on the exports or bulletin page, built by a Celery task
    (reports.tasks.export_run) into a file that the requester (or the office) downloads until
    it expires. The task reports its progress here; the job's page polls it."""

    class Kind(models.TextChoices):
        # The appeal lists of reports.exports.LISTS, and the bulletin's spreadsheet.
        FULL = "full", _("全量问题清单")
        RECTIFICATION = "rectification", _("分类整改清单")
        CLOSED = "closed", _("逐批销号清单")
        BULLETIN = "bulletin", _("诉求办理通报")

    class Format(models.TextChoices):
        XLSX = "xlsx", "Excel"
        CSV = "csv", "CSV"

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("生成中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")
        EXPIRED = "expired", _("已过期")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    format = models.CharField(max_length=4, choices=Format.choices)
    # The allow-listed filters as lists of strings (a QueryDict's lists), or the bulletin's
    # period: codes and dates, never personal data.
    filters = models.JSONField(default=dict)
    # The requester's language: the file's header and labels are written in it.
    language = models.CharField(max_length=16)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress_count = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    # The primary's WAL position when the job was asked for (PostgreSQL with a replica only):
    # the task reads from the replica once it has replayed this far, so the export holds every
    # write the requester made before asking (core.db).
    wal_position = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    # What each status may become. RUNNING → RUNNING is a task taking over a job whose worker
    # died (reports.jobs.export_run).
    TRANSITIONS = {
        Status.QUEUED: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.RUNNING, Status.DONE, Status.FAILED},
        Status.DONE: {Status.EXPIRED},
        Status.FAILED: set(),
        Status.EXPIRED: set(),
    }

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        indexes = [
            # The exports page: the requester's latest jobs.
            models.Index(fields=["requested_by", "-created_at"], name="exportjob_mine_idx"),
            # The expiry sweep: finished files past their expiry (reports.jobs.exports_expire).
            models.Index(
                fields=["expires_at"], condition=Q(status="done"), name="exportjob_expiry_idx"
            ),
        ]

    @property
    def pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(100, self.progress_count * 100 // self.progress_total)


class AssessmentScheme(models.Model):
    """The office's assessment scheme for a year (综合考核): weighted indicators, each with a
    scoring rule (reports.assessment.scheme checks the list). Editable until the first
    quarter of its year is published; frozen afterwards, so every published score of a year
    was computed by the same scheme."""

    year = models.PositiveSmallIntegerField(_("年度"), unique=True)
    # [{"indicator": "on_time", "weight": 40, "rule": "rate", "floor": 0.6}, …]
    indicators = models.JSONField()
    defined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    defined_at = models.DateTimeField()

    class Meta:
        verbose_name = _("综合考核方案")
        verbose_name_plural = _("综合考核方案")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class AssessmentResult(models.Model):
    """A quarter's published assessment: each department's score with the breakdown behind
    every point and the appeals behind every lost point. Written once and never updated, so
    later changes to the data never alter it."""

    scheme = models.ForeignKey(AssessmentScheme, on_delete=models.PROTECT, related_name="results")
    quarter = models.CharField(_("季度"), max_length=7, unique=True)  # e.g. 2026Q3
    published_at = models.DateTimeField(_("发布时间"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField()

    class Meta:
        verbose_name = _("季度考核结果")
        verbose_name_plural = _("季度考核结果")
        ordering = ["-quarter"]

    def __str__(self) -> str:
        return self.quarter


class KioskLink(models.Model):
    """A link for an unattended lobby screen (大屏): the board only, read-only, no session.

    The office creates one per screen and revokes it when the screen goes or the link leaks;
    the link stops working at once. The link carries a token signed with the SECRET_KEY over
    the row's id and nonce (reports.kiosk): a forged or altered token fails its signature, a
    revoked one its row. Both changes are audited."""

    label = models.CharField(_("名称"), max_length=100)
    # Random, per link; part of the signed token, so that a link can never be rebuilt from an
    # id alone (a reused id after a database restore, say).
    nonce = models.CharField(max_length=32)
    created_at = models.DateTimeField(_("创建时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(_("停用时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("大屏链接")
        verbose_name_plural = _("大屏链接")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.label

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
