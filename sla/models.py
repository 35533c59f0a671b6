"""Deadlines, colours and escalation: SLA policies, one clock per department per obligation,
and the escalation ladder kept as data. The office's corrections to the working calendar are
models of this app too, defined in `sla.holidays` beside the arithmetic that reads them."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from sla.calendar import add_working_days, is_working_day, working_days_between

# Re-exported: sla.calendar reads these and these models read sla.calendar, so they live in a
# module of their own below both.
from sla.holidays import CalendarOverride, CalendarYear  # noqa: F401


class Policy(models.Model):
    """Working-day limits for one category (or, with no category, the default) and priority.
    Promised limits are at least one third shorter than statutory ones (seed 002 §一(二))."""

    category = models.ForeignKey(
        "departments.Category",
        verbose_name=_("诉求分类"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("留空为默认时限，适用于未单独设置的分类。"),
    )
    priority = models.CharField(
        _("紧急程度"),
        max_length=10,
        blank=True,
        choices=[("", _("全部")), ("normal", _("一般")), ("urgent", _("紧急"))],
    )
    triage_days = models.PositiveSmallIntegerField(
        _("派单时限"),
        default=1,
        help_text=_("服务专员分办（交办、不予受理、并案）的工作日；0 表示当个工作日内分办。"),
    )
    sign_days = models.PositiveSmallIntegerField(_("签收时限（承诺）"), default=1)
    sign_statutory_days = models.PositiveSmallIntegerField(_("签收时限（法定）"), default=2)
    opinion_days = models.PositiveSmallIntegerField(_("配合意见时限（承诺）"), default=3)
    opinion_statutory_days = models.PositiveSmallIntegerField(_("配合意见时限（法定）"), default=5)
    reply_days = models.PositiveSmallIntegerField(_("办理答复时限（承诺）"), default=10)
    reply_statutory_days = models.PositiveSmallIntegerField(_("办理答复时限（法定）"), default=15)
    rating_days = models.PositiveSmallIntegerField(_("评价期限"), default=5)
    yellow_days = models.PositiveSmallIntegerField(
        _("黄灯提前工作日"), default=1, help_text=_("剩余工作日不多于此数时亮黄灯。")
    )
    yellow_percent = models.PositiveSmallIntegerField(
        _("黄灯提前比例（%）"),
        default=20,
        help_text=_("剩余时间不多于时限的此比例时亮黄灯；与上一项取较大者。"),
    )

    PAIRS = (
        ("sign_days", "sign_statutory_days"),
        ("opinion_days", "opinion_statutory_days"),
        ("reply_days", "reply_statutory_days"),
    )

    class Meta:
        verbose_name = _("时限标准")
        verbose_name_plural = _("时限标准")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "priority"],
                condition=Q(category__isnull=False),
                name="policy_unique_category_priority",
            ),
            models.UniqueConstraint(
                fields=["priority"],
                condition=Q(category__isnull=True),
                name="policy_unique_default_priority",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category or _('默认')} · {self.get_priority_display()}"

    def clean(self) -> None:
        errors = {}
        for promised, statutory in self.PAIRS:
            p, s = getattr(self, promised), getattr(self, statutory)
            if p is None or s is None:
                continue
            if p < 1:
                errors[promised] = _("时限至少为1个工作日。")
            elif p * 3 > s * 2:
                errors[promised] = _(
                    "承诺时限应在法定时限基础上压缩三分之一以上：法定 %(s)d 个工作日，承诺不得超过 %(max)d 个工作日。"
                ) % {"s": s, "max": s * 2 // 3}
        if errors:
            raise ValidationError(errors)

    def limit_for(self, obligation: str) -> int:
        return {
            Clock.Obligation.TRIAGE: self.triage_days,
            Clock.Obligation.PROMISE: self.reply_days,
            Clock.Obligation.SIGN: self.sign_days,
            Clock.Obligation.OPINION: self.opinion_days,
            Clock.Obligation.REPLY: self.reply_days,
            Clock.Obligation.RATING: self.rating_days,
        }[obligation]

    def warn_days_for(self, limit: int) -> int:
        """Yellow this many working days before the due date: the larger of the two settings,
        but always shorter than the limit itself, so that a new obligation starts green (a
        one-day limit turns yellow on its due day)."""
        warn = max(self.yellow_days, -(-limit * self.yellow_percent // 100))
        return max(min(warn, limit - 1), 0)


class Colour(models.TextChoices):
    GREEN = "green", _("绿灯")
    YELLOW = "yellow", _("黄灯")
    RED = "red", _("红灯")


COLOUR_RANK = {"": 0, Colour.GREEN: 1, Colour.YELLOW: 2, Colour.RED: 3}


class Clock(models.Model):
    """One party's deadline for one obligation on one appeal. Deadlines are dates: an
    obligation is due by the end of its due date.

    Whose time it is (DOMAIN.md, "Whose time is it?"): a department's clocks (sign, opinion,
    reply) run from its own assignment, less pauses and approved extensions, and are what the
    rates and the league judge it by; the commissioner's triage clock runs from filing or a
    return to routing; the promise to the enterprise runs from filing to the published reply
    and is what the tracking page shows; the rating window is the enterprise's own."""

    class Obligation(models.TextChoices):
        TRIAGE = "triage", _("派单")
        SIGN = "sign", _("签收")
        OPINION = "opinion", _("配合意见")
        REPLY = "reply", _("办理答复")
        PROMISE = "promise", _("承诺答复")
        RATING = "rating", _("企业评价")

    # A department's own obligations; the others belong to the appeal (department is NULL).
    DEPARTMENT_OBLIGATIONS = (Obligation.SIGN, Obligation.OPINION, Obligation.REPLY)
    # Obligations the escalation ladder applies to: the promise is the enterprise's view of the
    # departments' and the commissioner's clocks, which escalate themselves; the rating window
    # lapses instead.
    ESCALATED_OBLIGATIONS = (Obligation.TRIAGE, *DEPARTMENT_OBLIGATIONS)

    class State(models.TextChoices):
        RUNNING = "running", _("计时中")
        PAUSED = "paused", _("暂停（等待企业补充材料）")
        MET = "met", _("已完成")
        BREACHED = "breached", _("已超期")
        CANCELLED = "cancelled", _("已撤销")

    OPEN_STATES = (State.RUNNING, State.PAUSED, State.BREACHED)

    appeal = models.ForeignKey("appeals.Appeal", on_delete=models.CASCADE, related_name="clocks")
    assignment = models.ForeignKey(
        "appeals.Assignment",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="clocks",
    )
    department = models.ForeignKey(
        "departments.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clocks",
    )
    obligation = models.CharField(_("事项"), max_length=10, choices=Obligation.choices)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices)
    started_on = models.DateField(_("起算日"))
    limit_days = models.PositiveSmallIntegerField(_("时限（工作日）"))
    extension_days = models.PositiveSmallIntegerField(_("批准延期（工作日）"), default=0)
    paused_days = models.PositiveSmallIntegerField(_("暂停（工作日）"), default=0)
    paused_on = models.DateField(_("暂停日"), null=True, blank=True)
    warn_days = models.PositiveSmallIntegerField(_("黄灯提前（工作日）"), default=1)
    due_date = models.DateField(_("截止日"))
    met_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    colour = models.CharField(_("颜色"), max_length=6, choices=Colour.choices, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    # Read by the clock's id (the sweep's copy) and the appeal (the demo's reset) only: no
    # index for the assignment and department, written on every change of every clock.
    history = HistoricalRecords(no_db_index=["assignment", "department"])

    class Meta:
        verbose_name = _("办理时限")
        verbose_name_plural = _("办理时限")
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "obligation"],
                condition=Q(state__in=["running", "paused", "breached"]),
                name="clock_one_open_per_assignment",
            ),
        ]
        indexes = [
            # The sweep: open clocks whose next check is due, earliest first.
            models.Index(
                fields=["next_check_at"],
                name="clock_due_check_idx",
                condition=Q(next_check_at__isnull=False),
            ),
            # The response rate of a period (reports.rates.rates_for_period): the sign clocks
            # started in it.
            models.Index(
                fields=["started_on"], name="clock_sign_started_idx", condition=Q(obligation="sign")
            ),
            # The triage rate of a period (reports.rates.rates_for_period): the triage clocks
            # started in it.
            models.Index(
                fields=["started_on"],
                name="clock_triage_started_idx",
                condition=Q(obligation="triage"),
            ),
            # The league of a quarter (reports.league.league_compute): the departments' clocks
            # met in it, and those met after its end (still open then, perhaps late).
            models.Index(
                fields=["met_at"],
                name="clock_department_met_idx",
                condition=Q(state="met", department__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appeal_id} · {self.department or ''} · {self.get_obligation_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    def party(self) -> str:
        """Whose clock this is, for the clocks panel."""
        if self.department is not None:
            return self.department.name
        if self.obligation == self.Obligation.TRIAGE:
            return str(_("服务专员"))
        if self.obligation == self.Obligation.PROMISE:
            return str(_("对企业承诺"))
        return str(_("企业"))

    def compute_due(self) -> date:
        days = self.limit_days + self.extension_days + self.paused_days
        if days == 0 and not is_working_day(self.started_on):
            days = 1  # "within the working day": an urgent filing on Saturday is due Monday
        return add_working_days(self.started_on, days)

    def colour_on(self, today: date) -> str:
        """Green on track; yellow when little time is left or the step was done late; red when
        the deadline has passed. A paused clock keeps the colour of the day it paused."""
        if self.state == self.State.CANCELLED:
            return ""
        if self.state == self.State.MET:
            met_on = timezone.localdate(self.met_at) if self.met_at else today
            return Colour.YELLOW if met_on > self.due_date else Colour.GREEN
        if self.state == self.State.PAUSED and self.paused_on:
            today = self.paused_on
        if today > self.due_date:
            return Colour.RED
        if working_days_between(today, self.due_date) <= self.warn_days:
            return Colour.YELLOW
        return Colour.GREEN

    def working_days_left(self, today: date) -> int:
        """Positive: working days left; negative: working days overdue."""
        if self.state == self.State.PAUSED and self.paused_on:
            today = self.paused_on
        return working_days_between(today, self.due_date)

    def yellow_from(self) -> date:
        """The first day this clock shows yellow."""
        day = self.due_date
        while working_days_between(day - timedelta(days=1), self.due_date) <= self.warn_days:
            day -= timedelta(days=1)
        return day


class EscalationStep(models.Model):
    """A rung of the escalation ladder, kept as data: when it fires and whom it tells."""

    class Target(models.TextChoices):
        HANDLERS = "handlers", _("承办人")
        HEADS = "heads", _("单位负责人")
        OFFICE = "office", _("营商办")
        COMMISSIONER = "commissioner", _("服务专员")
        LEADERS = "leaders", _("市领导")

    code = models.SlugField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=30)
    colour = models.CharField(_("触发颜色"), max_length=6, choices=Colour.choices)
    after_working_days = models.PositiveSmallIntegerField(
        _("变色后再过（工作日）"),
        default=0,
        help_text=_("0 表示变色即触发；例如红灯后仍未办理满 3 个工作日，提交领导督办。"),
    )
    targets = models.CharField(
        _("通知对象"),
        max_length=100,
        help_text=_("逗号分隔：handlers, heads, office, commissioner, leaders"),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("督办阶梯")
        verbose_name_plural = _("督办阶梯")
        ordering = ["colour", "after_working_days"]

    def __str__(self) -> str:
        return self.name

    def target_list(self) -> list[str]:
        return [t.strip() for t in self.targets.split(",") if t.strip()]

    def clean(self) -> None:
        """A step must tell someone, and only people the sweep knows how to find: a misspelt
        target would otherwise notify nobody, in silence."""
        targets = self.target_list()
        unknown = [t for t in targets if t not in self.Target.values]
        if unknown:
            raise ValidationError(
                {
                    "targets": _("未知的通知对象：%(unknown)s。可选：%(known)s。")
                    % {"unknown": ", ".join(unknown), "known": ", ".join(self.Target.values)}
                }
            )
        if not targets and self.targets:  # an empty field is refused as blank already
            raise ValidationError({"targets": _("请至少选择一个通知对象。")})

    def fires_on(self, clock: "Clock") -> date:
        """The day this step fires for the clock."""
        if self.colour == Colour.YELLOW:
            return add_working_days(clock.yellow_from(), self.after_working_days)
        # Red from the day after the due date; "still red after N working days" is the day
        # after the N-th working day past the due date.
        return add_working_days(clock.due_date, self.after_working_days) + timedelta(days=1)


class Escalation(models.Model):
    """A step that fired for a clock. The unique constraint makes each step fire once.

    When several steps fall due for a clock at once (catching up after an outage, on first
    start, or a step added to a clock long in breach), only the highest fires; the lower ones
    are recorded as skipped, so they never fire later and the record says why nobody was told.
    """

    clock = models.ForeignKey(Clock, on_delete=models.CASCADE, related_name="escalations")
    step = models.ForeignKey(EscalationStep, on_delete=models.PROTECT)
    appeal = models.ForeignKey("appeals.Appeal", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    skipped = models.BooleanField(
        _("已跳过"), default=False, help_text=_("同时到期的更高一级督办已发出，本级未再通知。")
    )
    # The outbox: the sweep writes the escalation with this empty, in the batch's transaction;
    # the fan-out task (sla.escalations_notify) writes the notifications and fills it, in one
    # transaction. Empty on a skipped step for good: nobody is told of it.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("督办记录")
        verbose_name_plural = _("督办记录")
        constraints = [
            models.UniqueConstraint(fields=["clock", "step"], name="escalation_once_per_step")
        ]
        indexes = [
            # The board's latest escalations (485 ms → 9 ms at 1,000,000 appeals).
            models.Index(fields=["-created_at"], name="escalation_recent_idx"),
            # The fan-out's re-drive (sla.services.escalations_notify_redrive): fired steps whose
            # notifications are not written yet, oldest first.
            models.Index(
                fields=["created_at"],
                name="escalation_unnotified_idx",
                condition=Q(notified_at__isnull=True, skipped=False),
            ),
        ]


class Heartbeat(models.Model):
    """The last time each periodic job ran (the sweep writes it; /healthz reads it)."""

    name = models.CharField(max_length=40, primary_key=True)
    beat_at = models.DateTimeField()
