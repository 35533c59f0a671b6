"""Appeals and the objects of their closed loop.

Each workflow model declares its allowed transitions right below it. Statuses change only in
`appeals.services`, which checks these tables, saves with `update_fields` and records history
(simple-history, with the acting user and a stable English reason code) and a timeline event.
"""

import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from appeals.fields import CreditCodeField
from appeals.validators import CREDIT_CODE_STORED, validate_credit_code
from departments.models import Category, Department, Region
from departments.names import person_name
from departments.roles import Role, has_role


class EnterpriseTag(models.Model):
    """四上, 高新技术, 专精特新, 农业龙头, 重点外贸, 重点项目: key enterprises get a commissioner."""

    code = models.SlugField(_("代码"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=30)

    class Meta:
        verbose_name = _("企业标签")
        verbose_name_plural = _("企业标签")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Enterprise(models.Model):
    """An enterprise of the registry, one row per credit code in its normalised form
    (appeals.fields). A key enterprise has a commissioner, who must hold that role."""

    name = models.CharField(_("企业名称"), max_length=200)
    credit_code = CreditCodeField(
        _("统一社会信用代码"),
        max_length=18,
        unique=True,
        validators=[validate_credit_code],
        error_messages={
            "unique": _(
                "已有企业使用这个统一社会信用代码（全角、小写、空格和连字符不算区别），"
                "请勿重复登记，可在列表中搜索该代码找到它。"
            )
        },
    )
    region = models.ForeignKey(
        Region, verbose_name=_("所在区划"), null=True, blank=True, on_delete=models.PROTECT
    )
    tags = models.ManyToManyField(EnterpriseTag, verbose_name=_("标签"), blank=True)
    commissioner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("服务专员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="key_enterprises",
    )
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("企业账号"),
        blank=True,
        related_name="enterprises",
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("企业")
        verbose_name_plural = _("企业")
        ordering = ["name"]
        constraints = [
            # Only the normalised form is stored: 18 characters of the GB 32100 alphabet, so a
            # code as typed (full-width, lower case, with spaces) cannot slip in by any path.
            # The check character is not checked here; validate_credit_code does that.
            models.CheckConstraint(
                condition=Q(credit_code__regex=CREDIT_CODE_STORED),
                name="enterprise_credit_code_normalised",
                violation_error_message=_("统一社会信用代码应为18位数字或大写字母。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        commissioner = self.commissioner
        if commissioner is not None and not has_role(commissioner, Role.COMMISSIONER):
            raise ValidationError(
                {
                    "commissioner": _(
                        "“%(user)s”不是为企服务专员，不能担任企业的服务专员；"
                        "请选择为企服务专员，或先授予其该角色。"
                    )
                    % {"user": person_name(commissioner)}
                }
            )


class NumberSequence(models.Model):
    """The last registration number issued per prefix and year; rows are locked to issue one."""

    prefix = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="numbersequence_unique")
        ]


class Appeal(models.Model):
    class Status(models.TextChoices):
        TRIAGE = "triage", _("待分办")
        ASSIGNED = "assigned", _("已交办")
        IN_PROGRESS = "in_progress", _("办理中")
        REPLIED = "replied", _("已反馈（待评价）")
        CLOSED = "closed", _("已办结")
        NOT_ACCEPTED = "not_accepted", _("不予受理")
        MERGED = "merged", _("已并案")
        REDIRECTED = "redirected", _("已转办")

    class Channel(models.TextChoices):
        WEB = "web", _("网上填报")
        HOTLINE = "hotline", _("12345热线")
        MEETING = "meeting", _("政商恳谈会")
        VISIT = "visit", _("走访")
        LETTER = "letter", _("来信")
        API = "api", _("系统对接")

    class Priority(models.TextChoices):
        NORMAL = "normal", _("一般")
        URGENT = "urgent", _("紧急")

    number = models.CharField(_("登记号"), max_length=24, unique=True)
    query_code_hash = models.CharField(max_length=64, editable=False)
    channel = models.CharField(_("来源渠道"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.TRIAGE
    )
    priority = models.CharField(
        _("紧急程度"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    is_anonymous = models.BooleanField(_("无署名"), default=False)
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("企业"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appeals",
    )
    enterprise_name = models.CharField(_("企业名称"), max_length=200, blank=True)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提交账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="filed_appeals",
    )
    commissioner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("服务专员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="commissioned_appeals",
    )
    category = models.ForeignKey(
        Category, verbose_name=_("诉求分类"), null=True, blank=True, on_delete=models.PROTECT
    )
    region = models.ForeignKey(
        Region, verbose_name=_("所属区划"), null=True, blank=True, on_delete=models.PROTECT
    )
    title = models.CharField(_("诉求标题"), max_length=100)
    content = models.TextField(_("诉求内容"), max_length=5000)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("并入诉求"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_appeals",
    )
    triage_explanation = models.TextField(_("分办说明"), blank=True)
    returned_count = models.PositiveSmallIntegerField(_("退回次数"), default=0)
    # Someone flagged the appeal as blocked (受阻): it shows red until the flag is cleared.
    is_blocked = models.BooleanField(_("受阻"), default=False)
    blocked_reason = models.TextField(_("受阻原因"), blank=True)
    # Shown on the public board (张榜公示), chosen by the office; never with personal data.
    on_public_board = models.BooleanField(_("张榜公示"), default=False)
    # While a department waits on the enterprise for more material, the clocks pause.
    awaiting_material_since = models.DateTimeField(_("等待补充材料自"), null=True, blank=True)
    # Red / yellow / green, the worst of the appeal's clocks and flags, kept by the sla app
    # (appeal_colour_set) so that lists and boards read it without touching the clocks.
    colour = models.CharField(
        _("红黄绿"),
        max_length=6,
        blank=True,
        choices=[("green", _("绿灯")), ("yellow", _("黄灯")), ("red", _("红灯"))],
    )
    reopened_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    # The filer asked to be told of every step by SMS (routed, closed, follow-up as well as the
    # receipt and the answers every filer gets); never for an anonymous filing, which gives no
    # number. appeals.services.notify.enterprise_sms decides what goes.
    sms_opt_in = models.BooleanField(_("接收办理进度短信"), default=False)
    # The language the enterprise's messages (SMS, e-mail) are sent in.
    language = models.CharField(
        _("通知语言"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    filed_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    # The words of the title, the content, the enterprise's name and the replies, segmented
    # (appeals.text says why and how), for search and similar appeals. Written by the services
    # that write those texts (appeals.services._common.search_text_refresh). A database
    # default, so that rows written by COPY (bench/generate.py) get one too.
    search_text = models.TextField(blank=True, editable=False, default="", db_default="")
    # The colour is derived from the clocks, which keep their own history; the search words
    # from texts whose history is kept. The history is read by the appeal's id only (its own
    # index): the indexes simple_history would copy from the appeal's keys and number would be
    # written on every change of every appeal and read by nothing (issue #16).
    history = HistoricalRecords(
        excluded_fields=["query_code_hash", "colour", "search_text"],
        no_db_index=[
            "number",
            "enterprise",
            "commissioner",
            "category",
            "region",
            "filed_by",
            "merged_into",
        ],
    )

    OPEN_STATUSES = (Status.TRIAGE, Status.ASSIGNED, Status.IN_PROGRESS, Status.REPLIED)

    class Meta:
        verbose_name = _("诉求")
        verbose_name_plural = _("诉求")
        indexes = [
            # The triage queue: open appeals in triage, oldest first.
            models.Index(
                fields=["filed_at"], name="appeal_triage_idx", condition=Q(status="triage")
            ),
            # Status filters of the office's lists, newest first.
            models.Index(fields=["status", "-filed_at"], name="appeal_status_filed_idx"),
            # The rates of a period (reports.rates.rates_for_period): the appeals closed in it.
            models.Index(
                fields=["closed_at"], name="appeal_closed_idx", condition=Q(status="closed")
            ),
            # The rates of a period (reports.rates.rates_for_period): the appeals filed in it.
            models.Index(fields=["filed_at"], name="appeal_filed_idx"),
            # Search by credit code and by phone (appeals.search.appeals_search), and the
            # public form's duplicate check (open_duplicate_exists): exact matches.
            models.Index(
                fields=["credit_code"], name="appeal_credit_code_idx", condition=~Q(credit_code="")
            ),
            models.Index(
                fields=["contact_phone"], name="appeal_phone_idx", condition=~Q(contact_phone="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def display_enterprise(self) -> str:
        linked = self.enterprise_id is not None and not self.is_anonymous
        return self.enterprise_shown(self.enterprise.name if linked else "")

    def enterprise_shown(self, linked_name: str) -> str:
        """What lists show for the enterprise, given the linked enterprise's name ("" if none
        is linked): a page of rows reads those names at once (selectors.triage_rows)."""
        if self.is_anonymous:
            return str(_("（无署名）"))
        return linked_name if self.enterprise_id else self.enterprise_name


APPEAL_TRANSITIONS: dict[str, frozenset[str]] = {
    Appeal.Status.TRIAGE: frozenset(
        {
            Appeal.Status.ASSIGNED,
            Appeal.Status.NOT_ACCEPTED,
            Appeal.Status.MERGED,
            Appeal.Status.REDIRECTED,
        }
    ),
    # The lead signs (→ in progress) or returns it to triage.
    Appeal.Status.ASSIGNED: frozenset({Appeal.Status.IN_PROGRESS, Appeal.Status.TRIAGE}),
    Appeal.Status.IN_PROGRESS: frozenset({Appeal.Status.REPLIED, Appeal.Status.TRIAGE}),
    # Rated satisfied (or closed by the office) → closed; unsatisfied → re-handling.
    Appeal.Status.REPLIED: frozenset({Appeal.Status.CLOSED, Appeal.Status.IN_PROGRESS}),
    Appeal.Status.CLOSED: frozenset(),
    Appeal.Status.NOT_ACCEPTED: frozenset(),
    Appeal.Status.MERGED: frozenset(),
    Appeal.Status.REDIRECTED: frozenset(),
}


class Assignment(models.Model):
    """One department's part in one appeal: lead (牵头) or co-handler (配合)."""

    class Role(models.TextChoices):
        LEAD = "lead", _("牵头单位")
        CO = "co", _("配合单位")

    class State(models.TextChoices):
        ASSIGNED = "assigned", _("待签收")
        SIGNED = "signed", _("办理中")
        DONE = "done", _("已完成")
        RETURNED = "returned", _("已退回")
        CANCELLED = "cancelled", _("已撤销")

    ACTIVE_STATES = (State.ASSIGNED, State.SIGNED)

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="assignments")
    department = models.ForeignKey(
        Department, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="assignments"
    )
    role = models.CharField(_("角色"), max_length=4, choices=Role.choices)
    state = models.CharField(
        _("状态"), max_length=10, choices=State.choices, default=State.ASSIGNED
    )
    assigned_at = models.DateTimeField(_("交办时间"), default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    return_reason = models.TextField(_("退回理由"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("交办")
        verbose_name_plural = _("交办")
        constraints = [
            models.UniqueConstraint(
                fields=["appeal", "department"],
                condition=Q(state__in=["assigned", "signed"]),
                name="assignment_one_active_per_department",
            ),
            models.UniqueConstraint(
                fields=["appeal"],
                condition=Q(role="lead", state__in=["assigned", "signed", "done"]),
                name="assignment_one_lead",
            ),
        ]
        indexes = [
            # A department's inbox: its active assignments, oldest first.
            models.Index(
                fields=["department", "state", "assigned_at"], name="assignment_inbox_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appeal.number} · {self.department} · {self.get_role_display()}"

    @property
    def is_lead(self) -> bool:
        return self.role == self.Role.LEAD


ASSIGNMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    Assignment.State.ASSIGNED: frozenset(
        {Assignment.State.SIGNED, Assignment.State.RETURNED, Assignment.State.CANCELLED}
    ),
    Assignment.State.SIGNED: frozenset(
        {Assignment.State.DONE, Assignment.State.RETURNED, Assignment.State.CANCELLED}
    ),
    # A lead's reply is rated unsatisfied → the lead handles it again (重办).
    Assignment.State.DONE: frozenset({Assignment.State.SIGNED, Assignment.State.CANCELLED}),
    Assignment.State.RETURNED: frozenset(),
    Assignment.State.CANCELLED: frozenset(),
}


class Opinion(models.Model):
    """A co-handler's opinion, sent to the lead department."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="opinions")
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="opinions")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    content = models.TextField(_("配合意见"), max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("配合意见")
        verbose_name_plural = _("配合意见")
        ordering = ["created_at"]


class Reply(models.Model):
    """The lead department's answer (办理反馈). Anything but "resolved" is reviewed first."""

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", _("已解决")
        PARTLY_RESOLVED = "partly_resolved", _("部分解决")
        EXPLAINED = "explained", _("解释说明")
        REDIRECTED = "redirected", _("引导至法定程序")

    class State(models.TextChoices):
        PENDING_HEAD = "pending_head", _("待单位负责人审核")
        PENDING_OFFICE = "pending_office", _("待营商办审核")
        SENT_BACK = "sent_back", _("审核退回")
        PUBLISHED = "published", _("已反馈企业")

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="replies")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    # Who passed the head's review: the office's review must be someone else's (actions).
    head_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("单位负责人审核人"),
    )
    outcome = models.CharField(_("办理结果"), max_length=16, choices=Outcome.choices)
    content = models.TextField(_("答复内容"), max_length=5000)
    state = models.CharField(_("状态"), max_length=16, choices=State.choices)
    review_note = models.TextField(_("审核意见"), blank=True)
    # Marked by the office as a model answer (示范答复): shown first among the earlier replies
    # a department reads for reference (appeals.search.reply_references).
    is_model_answer = models.BooleanField(_("示范答复"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("办理反馈")
        verbose_name_plural = _("办理反馈")
        ordering = ["created_at"]
        indexes = [
            # The review queues of heads and the office.
            models.Index(
                fields=["state", "created_at"],
                name="reply_review_idx",
                condition=Q(state__in=["pending_head", "pending_office"]),
            ),
        ]


REPLY_TRANSITIONS: dict[str, frozenset[str]] = {
    Reply.State.PENDING_HEAD: frozenset({Reply.State.PENDING_OFFICE, Reply.State.SENT_BACK}),
    Reply.State.PENDING_OFFICE: frozenset({Reply.State.PUBLISHED, Reply.State.SENT_BACK}),
    Reply.State.SENT_BACK: frozenset(),
    Reply.State.PUBLISHED: frozenset(),
}


class Rating(models.Model):
    class Score(models.TextChoices):
        SATISFIED = "satisfied", _("满意")
        BASICALLY_SATISFIED = "basically_satisfied", _("基本满意")
        UNSATISFIED = "unsatisfied", _("不满意")
        LAPSED = "lapsed", _("逾期未评价（视为认可）")

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="ratings")
    reply = models.OneToOneField(Reply, on_delete=models.CASCADE, related_name="rating")
    score = models.CharField(_("评价"), max_length=20, choices=Score.choices)
    comment = models.TextField(_("评价意见"), max_length=2000, blank=True)
    rehandle = models.BooleanField(_("申请重办"), default=False)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("评价")
        verbose_name_plural = _("评价")
        ordering = ["created_at"]


class FollowUp(models.Model):
    """The commissioner's visit back after closure (回访, 跟踪问效)."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="followups")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    content = models.TextField(_("回访记录"), max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("回访记录")
        verbose_name_plural = _("回访记录")
        ordering = ["created_at"]


def _attachment_path(instance: "Attachment", filename: str) -> str:
    # Never the uploader's file name on disk: a generated one, with the checked extension.
    suffix = PurePath(filename).suffix.lower()
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, max_length=200)
    original_name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["created_at"]


class EventCode(models.TextChoices):
    """What a timeline event says happened: a closed set. Services record these (through
    appeals.services._common.record, which refuses any other code), the sla app keeps its
    clocks in step with them, the timeline shows their labels. The values are stored: never
    rename one without a data migration."""

    FILED = "filed", _("登记")
    ROUTED = "routed", _("交办")
    SIGNED = "signed", _("签收")
    RETURNED = "returned", _("退回")
    OPINION_SENT = "opinion_sent", _("配合意见")
    REPLY_FOR_REVIEW = "reply_for_review", _("答复提交审核")
    REVIEW_HEAD_APPROVED = "review_head_approved", _("单位负责人审核同意")
    REVIEW_HEAD_SENT_BACK = "review_head_sent_back", _("单位负责人退回修改")
    REVIEW_OFFICE_APPROVED = "review_office_approved", _("营商办审核同意")
    REVIEW_OFFICE_SENT_BACK = "review_office_sent_back", _("营商办退回修改")
    REPLIED = "replied", _("办理反馈")
    RATED = "rated", _("企业评价")
    REOPENED = "reopened", _("重办")
    CLOSED = "closed", _("办结")
    NOT_ACCEPTED = "not_accepted", _("不予受理")
    REDIRECTED = "redirected", _("转办")
    MERGED = "merged", _("并案")
    MERGED_FROM = "merged_from", _("并案")
    FOLLOWED_UP = "followed_up", _("回访")
    MATERIAL_REQUESTED = "material_requested", _("请企业补充材料")
    MATERIAL_SUPPLIED = "material_supplied", _("企业补充材料")
    EXTENSION_REQUESTED = "extension_requested", _("延期申请")
    EXTENSION_APPROVED = "extension_approved", _("同意延期")
    EXTENSION_REJECTED = "extension_rejected", _("不同意延期")
    BLOCKED = "blocked", _("标记受阻")
    UNBLOCKED = "unblocked", _("解除受阻")
    RATING_LAPSED = "rating_lapsed", _("逾期未评价，视为认可")
    ESCALATED = "escalated", _("督办")
    DEADLINE_CHANGED = "deadline_changed", _("办理时限调整")
    PUBLICISED = "publicised", _("张榜公示")
    UNPUBLICISED = "unpublicised", _("撤下公示")


class TimelineEvent(models.Model):
    """The readable story of an appeal: who did what, when, and the note they left."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="events")
    code = models.CharField(max_length=40, choices=EventCode.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the event says: a code of appeals.events.TEXTS and its parameters, rendered in the
    # reader's language (appeals.events.event_text); `note` holds only words stored as they
    # are: a note someone typed, or the text of an event written before codes.
    text_code = models.CharField(max_length=40, blank=True)
    params = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    # Shown to the enterprise on the tracking page; internal events (opinions, reviews) are not.
    is_public = models.BooleanField(default=True)
    # Staff only, even on a public event: the commissioner's internal 交办意见 beside what the
    # enterprise is told. Never on the tracking page or in the enterprise's API.
    internal_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["appeal", "created_at"], name="event_appeal_idx")]


class ExtensionRequest(models.Model):
    """A department asks the office for more working days (延期申请)."""

    class State(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已同意")
        REJECTED = "rejected", _("未同意")

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="extensions")
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="extensions")
    days = models.PositiveSmallIntegerField(_("延期工作日数"))
    reason = models.TextField(_("延期理由"), max_length=2000)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision_note = models.TextField(_("审批意见"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment"],
                condition=Q(state="pending"),
                name="extension_one_pending_per_assignment",
            )
        ]


EXTENSION_TRANSITIONS: dict[str, frozenset[str]] = {
    ExtensionRequest.State.PENDING: frozenset(
        {ExtensionRequest.State.APPROVED, ExtensionRequest.State.REJECTED}
    ),
    ExtensionRequest.State.APPROVED: frozenset(),
    ExtensionRequest.State.REJECTED: frozenset(),
}


class Notification(models.Model):
    """One message to one person on one channel. Written in the same transaction as the event
    that causes it and sent after commit; a sweep re-sends any whose dispatch was lost."""

    class Channel(models.TextChoices):
        INAPP = "inapp", _("站内消息")
        EMAIL = "email", _("电子邮件")
        SMS = "sms", _("短信")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
        # notification_inbox_idx (recipient, -created_at) serves every look-up by recipient.
        db_index=False,
    )
    # The e-mail address or phone number for EMAIL and SMS, copied at creation.
    address = models.CharField(max_length=254, blank=True)
    channel = models.CharField(max_length=5, choices=Channel.choices)
    appeal = models.ForeignKey(
        Appeal, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    # The EventCode of the timeline event that caused it, or `escalation:<step code>` for the
    # notices of an escalation step (sla.services).
    event = models.CharField(max_length=40)
    # Marks each effect once: the same escalation never notifies the same person twice
    # (notification_dedupe_key_unique: a constraint rather than unique=True, which would add a
    # second, pattern index on PostgreSQL that nothing reads and every insert pays for).
    dedupe_key = models.CharField(max_length=120)
    # Subject and body: codes of appeals.events.TEXTS with their shared parameters, rendered
    # when read (in-app) or sent (e-mail, SMS); without a code, the words stored as they are.
    subject_code = models.CharField(max_length=40, blank=True)
    body_code = models.CharField(max_length=40, blank=True)
    params = models.JSONField(default=dict, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="notification_dedupe_key_unique")
        ]
        indexes = [
            # The re-drive sweep: notifications not yet sent, oldest first.
            models.Index(
                fields=["created_at"],
                name="notification_unsent_idx",
                condition=Q(sent_at__isnull=True),
            ),
            # A user's in-app inbox, newest first.
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox_idx"),
            # The top bar's unread badge, on every page (appeals.selectors.unread_count).
            models.Index(
                fields=["recipient"],
                name="notification_unread_idx",
                condition=Q(channel="inapp", read_at__isnull=True),
            ),
        ]


class IdempotencyKey(models.Model):
    """A filing made through the API with an `Idempotency-Key` header: a retried request gets
    the first response back instead of filing twice. Neither the Idempotency-Key nor the query
    code is stored in clear: the row is found by a keyed hash of the Idempotency-Key, and the
    receipt (with the query code) is sealed under a key derived from the Idempotency-Key
    (core.sealing), which only the caller holds. Rows are purged after a day
    (appeals.idempotency_purge)."""

    key_hash = models.CharField(max_length=64)
    owner = models.CharField(max_length=60)  # "user:<id>" or "anon:<address>"
    request_hash = models.CharField(max_length=64)
    appeal = models.ForeignKey(Appeal, null=True, on_delete=models.CASCADE, related_name="+")
    sealed_receipt = models.BinaryField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key_hash"], name="idempotency_unique_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]


class SmsOptOut(models.Model):
    """A phone number that answered an SMS with the unsubscribe word (TD / 退订): no step SMS
    goes to it any more (appeals.services.notify.enterprise_sms says what still does)."""

    phone = models.CharField(_("手机号码"), max_length=20, unique=True)
    # What the gateway passed on, as received (a few characters: "TD", "退订").
    text = models.CharField(_("短信内容"), max_length=70, blank=True)
    created_at = models.DateTimeField(_("退订时间"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("短信退订")
        verbose_name_plural = _("短信退订")
