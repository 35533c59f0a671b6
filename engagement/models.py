"""Engagement beyond the appeal itself: meetings (政商恳谈会, 现场办公) whose appeals are entered
in a batch, and service grids (服务网格) whose commissioners log their contacts with enterprises
("专员有对接") before any appeal exists.

The appeals themselves are ordinary appeals, registered by appeals.services.appeal_file with
their usual numbers, clocks and notifications; the rows here only link them back to the
meeting or the contact they came from (no migration of the appeals app is needed for it).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from appeals.models import Appeal, Enterprise
from departments.models import Department, Region


class Meeting(models.Model):
    """A meeting with enterprises, scheduled by the office or a county's government."""

    class Kind(models.TextChoices):
        FORUM = "forum", _("政商恳谈会")
        ONSITE = "onsite", _("现场办公")

    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.FORUM)
    title = models.CharField(_("会议名称"), max_length=100)
    held_on = models.DateField(_("会议日期"))
    place = models.CharField(_("地点"), max_length=100)
    presiding_leader = models.CharField(_("主持领导"), max_length=50)
    region = models.ForeignKey(Region, verbose_name=_("所属区划"), on_delete=models.PROTECT)
    # The county government that organised it; None when the office did.
    organiser = models.ForeignKey(
        Department,
        verbose_name=_("主办单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="organised_meetings",
    )
    departments = models.ManyToManyField(
        Department, verbose_name=_("参会单位"), blank=True, related_name="meetings_attended"
    )
    enterprises = models.ManyToManyField(
        Enterprise, verbose_name=_("受邀企业"), blank=True, related_name="meetings_invited"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    history = HistoricalRecords(m2m_fields=[departments, enterprises])

    class Meta:
        verbose_name = _("恳谈会")
        verbose_name_plural = _("恳谈会")
        ordering = ["-held_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.held_on:%Y-%m-%d} {self.title}"


class MeetingAppeal(models.Model):
    """An appeal raised at a meeting, with the lead department the meeting proposed (the
    commissioner still routes it in triage, where the proposal is shown)."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("恳谈会"), on_delete=models.PROTECT, related_name="raised"
    )
    appeal = models.OneToOneField(
        Appeal, verbose_name=_("诉求"), on_delete=models.PROTECT, related_name="meeting_link"
    )
    proposed_lead = models.ForeignKey(
        Department,
        verbose_name=_("建议牵头单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    entered_at = models.DateTimeField(default=timezone.now)
    # The batch table's key (a fresh one per page shown): a second submission of the same
    # table (a double click, a retry after a timeout) registers nothing again.
    batch_key = models.CharField(max_length=40, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("会上诉求")
        verbose_name_plural = _("会上诉求")
        ordering = ["pk"]
        indexes = [
            # meeting_appeals_enter: was this batch of the meeting entered already?
            models.Index(fields=["meeting", "batch_key"], name="meetingappeal_batch_idx"),
        ]


class Grid(models.Model):
    """A service grid (服务网格): the enterprises of a county, or of one park in it, and the
    commissioners who serve them."""

    name = models.CharField(_("网格名称"), max_length=100)
    region = models.ForeignKey(Region, verbose_name=_("所属县（市、区）"), on_delete=models.PROTECT)
    park = models.CharField(_("园区"), max_length=100, blank=True)
    commissioners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("服务专员"), blank=True, related_name="grids"
    )
    history = HistoricalRecords(m2m_fields=[commissioners])

    class Meta:
        verbose_name = _("服务网格")
        verbose_name_plural = _("服务网格")
        ordering = ["region__code", "park", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "park", "name"], name="grid_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class GridMember(models.Model):
    """An enterprise's place in a grid: one grid per enterprise."""

    grid = models.ForeignKey(
        Grid, verbose_name=_("服务网格"), on_delete=models.PROTECT, related_name="members"
    )
    enterprise = models.OneToOneField(
        Enterprise, verbose_name=_("企业"), on_delete=models.CASCADE, related_name="grid_member"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("网格企业")
        verbose_name_plural = _("网格企业")

    def __str__(self) -> str:
        return f"{self.grid} · {self.enterprise}"


class Contact(models.Model):
    """A commissioner's contact with an enterprise (对接), before or without any appeal."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("走访")
        CALL = "call", _("电话")
        MEETING = "meeting", _("座谈")

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.PROTECT, related_name="contacts"
    )
    commissioner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("服务专员"),
        on_delete=models.PROTECT,
        related_name="enterprise_contacts",
    )
    kind = models.CharField(_("方式"), max_length=10, choices=Kind.choices)
    contacted_on = models.DateField(_("对接日期"))
    summary = models.TextField(_("对接内容"), max_length=2000)
    appeal = models.OneToOneField(
        Appeal,
        verbose_name=_("形成诉求"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contact_link",
    )
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("专员对接")
        verbose_name_plural = _("专员对接")
        ordering = ["-contacted_on", "-pk"]
        indexes = [
            # Coverage: the latest contact of each enterprise (selectors.coverage).
            models.Index(fields=["enterprise", "contacted_on"], name="contact_enterprise_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contacted_on:%Y-%m-%d} {self.enterprise} ({self.get_kind_display()})"
