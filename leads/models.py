"""Observers' leads (线索, seed 002 特约监督员; seed 003 "亲又清"观察员): a supervisor reports
conduct that harms the business environment; the office checks each lead and turns it into an
appeal, refers it for discipline, or closes it with a reason.

Who filed a lead is known to the office and the observer only. The appeal made from a lead is
filed by the office, anonymously, and neither it nor its timeline points back at the lead
(the link is held here, on the lead, with no reverse accessor)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Lead(models.Model):
    class Kind(models.TextChoices):
        FEES = "fees", _("乱收费")
        REPEATED_ENFORCEMENT = "repeated_enforcement", _("重复执法")
        KICKBACKS = "kickbacks", _("吃拿卡要")
        BUCK_PASSING = "buck_passing", _("推诿扯皮")
        OTHER = "other", _("其他")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("待核查")
        APPEAL = "appeal", _("已转为诉求")
        REFERRED = "referred", _("已移交纪检监察")
        CLOSED = "closed", _("已核查办结")

    observer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("线索类型"), max_length=24, choices=Kind.choices)
    department = models.ForeignKey(
        "departments.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("涉及单位"),
    )
    happened_on = models.DateField(_("发生日期"), null=True, blank=True)
    place = models.CharField(_("地点"), max_length=200, blank=True)
    description = models.TextField(_("具体情况"))
    attachment = models.FileField(upload_to="leads/%Y/%m/", blank=True)
    attachment_name = models.CharField(max_length=100, blank=True)
    attachment_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    filed_at = models.DateTimeField()
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    # The appeal the office filed from the lead; no reverse accessor, so nothing reached from
    # an appeal leads back here.
    appeal = models.OneToOneField(
        "appeals.Appeal", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    close_reason = models.TextField(_("办结理由"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("监督线索")
        verbose_name_plural = _("监督线索")
        ordering = ["-filed_at", "-pk"]
        indexes = [
            # The observer's own list (selectors.leads_visible_to), newest first.
            models.Index(fields=["observer", "-filed_at"], name="lead_mine_idx"),
            # The office's queue: leads waiting to be checked.
            models.Index(
                fields=["filed_at"],
                condition=models.Q(status="submitted"),
                name="lead_unchecked_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{_('线索')} #{self.pk}"


# What each status may become: a lead is checked once, with one of three outcomes.
LEAD_TRANSITIONS: dict[str, frozenset[str]] = {
    Lead.Status.SUBMITTED: frozenset(
        {Lead.Status.APPEAL, Lead.Status.REFERRED, Lead.Status.CLOSED}
    ),
    Lead.Status.APPEAL: frozenset(),
    Lead.Status.REFERRED: frozenset(),
    Lead.Status.CLOSED: frozenset(),
}


class Referral(models.Model):
    """A lead referred for discipline (纪检监察): what was referred, to whom, when, by whom."""

    lead = models.OneToOneField(Lead, on_delete=models.PROTECT, related_name="referral")
    referred_to = models.CharField(_("移交单位"), max_length=100)
    what = models.TextField(_("移交内容"))
    referred_at = models.DateTimeField(_("移交时间"))
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("纪检移交记录")
        verbose_name_plural = _("纪检移交记录")
