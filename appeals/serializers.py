"""API input and output shapes. Inputs only validate shape; the services decide the rest."""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

from appeals import events
from appeals.actions import Action, appeal_actions_for
from appeals.models import Appeal, Assignment, ExtensionRequest, Notification, Rating, Reply
from appeals.selectors import INBOX_TABS
from appeals.validators import mask_name, mask_phone
from core.params import MAX_ID
from core.schema_rules import NOT_BLANK, required_when
from departments.models import Category, Department, Region
from departments.selectors import category_active, region_of

# --- Output --------------------------------------------------------------------------------


class AppealListOut(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display")
    category = serializers.StringRelatedField(allow_null=True)
    region = serializers.StringRelatedField(allow_null=True)
    enterprise = serializers.CharField(source="display_enterprise")

    class Meta:
        model = Appeal
        fields = [
            "number",
            "title",
            "status",
            "status_display",
            "colour",
            "priority",
            "channel",
            "category",
            "region",
            "enterprise",
            "filed_at",
            "closed_at",
        ]


class EventOut(serializers.Serializer):
    created_at = serializers.DateTimeField()
    code = serializers.CharField()
    department = serializers.CharField(source="department.name", default=None, allow_null=True)
    # In the reader's language (appeals.events): the request's, as on the pages.
    note = serializers.SerializerMethodField()
    is_public = serializers.BooleanField()

    def get_note(self, event) -> str:
        return events.event_text(event)


class StaffEventOut(EventOut):
    """An event as staff see it: with the internal note, which EventOut (the enterprise's
    view) never carries."""

    internal_note = serializers.CharField()


class ReplyOut(serializers.ModelSerializer):
    department = serializers.CharField(source="assignment.department.name")
    rating = serializers.SerializerMethodField()

    class Meta:
        model = Reply
        fields = [
            "id",
            "department",
            "outcome",
            "state",
            "content",
            "review_note",
            "created_at",
            "published_at",
            "rating",
        ]

    def get_rating(self, reply) -> dict | None:
        rating = getattr(reply, "rating", None)
        if rating is None:
            return None
        return {"score": rating.score, "comment": rating.comment, "rehandle": rating.rehandle}


class PublicReplyOut(ReplyOut):
    class Meta(ReplyOut.Meta):
        fields = ["department", "outcome", "content", "published_at", "rating"]


class AssignmentOut(serializers.ModelSerializer):
    department = serializers.CharField(source="department.name")
    department_id = serializers.IntegerField()

    class Meta:
        model = Assignment
        fields = [
            "id",
            "department_id",
            "department",
            "role",
            "state",
            "assigned_at",
            "signed_at",
            "done_at",
            "return_reason",
        ]


class AttachmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    size = serializers.IntegerField()
    content_type = serializers.CharField()


class AppealPublicOut(serializers.ModelSerializer):
    """What the enterprise sees: public events and published replies only."""

    status_display = serializers.CharField(source="get_status_display")
    merged_into = serializers.CharField(source="merged_into.number", default=None, allow_null=True)
    replies = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()
    awaiting_material = serializers.SerializerMethodField()
    attachments = AttachmentOut(many=True)

    class Meta:
        model = Appeal
        fields = [
            "number",
            "title",
            "content",
            "status",
            "status_display",
            "filed_at",
            "closed_at",
            "triage_explanation",
            "merged_into",
            "awaiting_material",
            "replies",
            "events",
            "attachments",
        ]

    def get_replies(self, appeal) -> list[dict]:
        published = [r for r in appeal.replies.all() if r.state == Reply.State.PUBLISHED]
        return PublicReplyOut(published, many=True).data

    # The enterprise's view: public events, and EventOut has no internal note.
    @extend_schema_field(EventOut(many=True))
    def get_events(self, appeal) -> list[dict]:
        return EventOut([e for e in appeal.events.all() if e.is_public], many=True).data

    def get_awaiting_material(self, appeal) -> bool:
        return appeal.awaiting_material_since is not None


class ActionOut(serializers.Serializer):
    """One action the caller may take now, and the object it acts on: `assignment` for sign,
    return, opinion, reply, request_material and request_extension; `reply` for review;
    `extension` for decide_extension; none for actions on the whole appeal."""

    code = serializers.ChoiceField(choices=Action.choices)
    assignment = serializers.IntegerField(allow_null=True)
    reply = serializers.IntegerField(allow_null=True)
    extension = serializers.IntegerField(allow_null=True)


class AppealStaffOut(AppealListOut):
    """What staff see; contact details always masked (ContactRevealApi shows them, audited).
    `actions` lists what the caller (the request's user, in the context) may do now: the
    same actions the appeal page offers."""

    content = serializers.CharField()
    contact_name = serializers.SerializerMethodField()
    contact_phone = serializers.SerializerMethodField()
    assignments = AssignmentOut(many=True)
    replies = ReplyOut(many=True)
    events = StaffEventOut(many=True)
    attachments = AttachmentOut(many=True)
    merged_into = serializers.CharField(source="merged_into.number", default=None, allow_null=True)
    actions = serializers.SerializerMethodField()

    class Meta(AppealListOut.Meta):
        fields = [
            *AppealListOut.Meta.fields,
            "content",
            "contact_name",
            "contact_phone",
            "is_anonymous",
            "is_blocked",
            "returned_count",
            "reopened_count",
            "awaiting_material_since",
            "triage_explanation",
            "merged_into",
            "assignments",
            "replies",
            "events",
            "attachments",
            "actions",
        ]

    @extend_schema_field(ActionOut(many=True))
    def get_actions(self, appeal) -> list[dict]:
        user = self.context["request"].user
        return ActionOut(appeal_actions_for(user, appeal), many=True).data

    def get_contact_name(self, appeal) -> str:
        return mask_name(appeal.contact_name)

    def get_contact_phone(self, appeal) -> str:
        return mask_phone(appeal.contact_phone)


class ContactOut(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()


class FiledOut(serializers.Serializer):
    number = serializers.CharField()
    query_code = serializers.CharField(help_text="只返回这一次；平台只保存其散列值。")
    status = serializers.CharField()
    filed_at = serializers.DateTimeField()


class ReviewItemOut(serializers.ModelSerializer):
    number = serializers.CharField(source="appeal.number")
    title = serializers.CharField(source="appeal.title")
    department = serializers.CharField(source="assignment.department.name")

    class Meta:
        model = Reply
        fields = ["id", "number", "title", "department", "outcome", "state", "created_at"]


class ExtensionItemOut(serializers.ModelSerializer):
    number = serializers.CharField(source="appeal.number")
    title = serializers.CharField(source="appeal.title")
    department = serializers.CharField(source="assignment.department.name")
    assignment_id = serializers.IntegerField()

    class Meta:
        model = ExtensionRequest
        fields = [
            "id",
            "number",
            "title",
            "department",
            "assignment_id",
            "days",
            "reason",
            "state",
            "created_at",
        ]


class NotificationOut(serializers.ModelSerializer):
    number = serializers.CharField(source="appeal.number", default=None, allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "number", "event", "subject", "body", "created_at", "read_at"]

    subject = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()

    def get_subject(self, notification) -> str:
        return events.notification_subject(notification)

    def get_body(self, notification) -> str:
        return events.notification_body(notification)


class InboxItemOut(serializers.ModelSerializer):
    appeal = AppealListOut()

    class Meta:
        model = Assignment
        fields = ["id", "role", "state", "assigned_at", "signed_at", "appeal"]


# --- Input ---------------------------------------------------------------------------------


class StrictBooleanField(serializers.BooleanField):
    """A boolean the caller must send, whatever the content type. DRF reads a boolean missing
    from a form body (form-encoded or multipart) as false, the way a browser leaves out an
    unticked checkbox: a review without `approve` would send the reply back, a call without
    `blocked` would clear the flag. Here a missing field is missing (400)."""

    default_empty_html = empty


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id: a number or a numeric string, never a list or an object. DRF hands any JSON value
    to the database lookup, and the ORM walks a nested list level by level: a few hundred
    brackets, well inside what the JSON parser reads, were a RecursionError (500)."""

    def to_internal_value(self, data):
        if isinstance(data, list | dict):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)

    def get_value(self, dictionary):
        value = super().get_value(dictionary)
        # A form has no null: a nullable id sent as the text "null" (how a schema-driven
        # client writes null in a form body) is none, as DRF's BooleanField reads it.
        if self.allow_null and html.is_html_input(dictionary) and value == "null":
            return None
        return value


class HeldRelatedField(StrictPrimaryKeyRelatedField):
    """An id of a row the process holds (departments.selectors.CHOICES): found in memory, not
    in the database. `lookup(pk)` gives the row or None; `queryset` still describes the choices
    (the schema, the browsable API)."""

    def __init__(self, *, lookup, **kwargs):
        self.lookup = lookup
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, list | dict | bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            pk = int(data)
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        found = self.lookup(pk) if 0 < pk <= MAX_ID else None
        if found is None:
            self.fail("does_not_exist", pk_value=data)
        return found


class FileIn(serializers.Serializer):
    title = serializers.CharField(max_length=100)
    content = serializers.CharField(max_length=5000)
    is_anonymous = serializers.BooleanField(default=False)
    enterprise_name = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    credit_code = serializers.CharField(max_length=30, required=False, default="", allow_blank=True)
    contact_name = serializers.CharField(
        max_length=50, required=False, default="", allow_blank=True
    )
    contact_phone = serializers.CharField(
        max_length=30, required=False, default="", allow_blank=True
    )
    sms_opt_in = serializers.BooleanField(
        default=False,
        help_text="true：办理的每一步（登记、交办、补充材料、答复、办结、回访）向 contact_phone "
        "发一条短信，短信末尾附“回复TD退订”。默认 false：只发登记回执、补充材料请求和办理结果。"
        "无署名（is_anonymous）提交时忽略。",
    )
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES],
        default=settings.LANGUAGE_CODE,
        help_text="企业收到的短信和电子邮件使用的语言：zh-hans（默认）或 en。",
    )
    category = HeldRelatedField(
        queryset=Category.objects.filter(is_active=True),
        lookup=category_active,
        required=False,
        allow_null=True,
        default=None,
    )
    region = HeldRelatedField(
        queryset=Region.objects.all(),
        lookup=region_of,
        required=False,
        allow_null=True,
        default=None,
    )
    channel = serializers.ChoiceField(choices=Appeal.Channel.choices, default=Appeal.Channel.API)
    priority = serializers.ChoiceField(
        choices=Appeal.Priority.choices,
        default=Appeal.Priority.NORMAL,
        help_text="只有专员和营商办可以设定；其他调用方（含匿名）提交的值被忽略，按 normal 登记。",
    )


class TrackIn(serializers.Serializer):
    number = serializers.CharField(max_length=30)
    code = serializers.CharField(max_length=60)


class RateIn(serializers.Serializer):
    score = serializers.ChoiceField(
        choices=[Rating.Score.SATISFIED, Rating.Score.BASICALLY_SATISFIED, Rating.Score.UNSATISFIED]
    )
    comment = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    # Required with an unsatisfied score: true asks for re-handling (重办); false ends the
    # appeal, with the reason in `comment`. Ignored otherwise.
    rehandle = serializers.BooleanField(required=False, allow_null=True, default=None)

    # The service's rule (appeals.services.closing.appeal_rate): an unsatisfied score says
    # whether to re-handle, and ending it says why in `comment`.
    schema_any_of = [
        {
            "properties": {
                "score": {"enum": [Rating.Score.SATISFIED, Rating.Score.BASICALLY_SATISFIED]}
            }
        },
        {"properties": {"rehandle": {"enum": [True]}}, "required": ["rehandle"]},
        {
            "properties": {
                "rehandle": {"enum": [False]},
                "comment": {"type": "string", "pattern": NOT_BLANK},
            },
            "required": ["rehandle", "comment"],
        },
    ]


class TrackRateIn(TrackIn, RateIn):
    pass


class ContentIn(serializers.Serializer):
    content = serializers.CharField(max_length=5000)


class TrackMaterialIn(TrackIn, ContentIn):
    pass


class RouteIn(serializers.Serializer):
    category = StrictPrimaryKeyRelatedField(queryset=Category.objects.filter(is_active=True))
    region = StrictPrimaryKeyRelatedField(
        queryset=Region.objects.all(), required=False, allow_null=True, default=None
    )
    lead = StrictPrimaryKeyRelatedField(queryset=Department.objects.all())
    co_handlers = StrictPrimaryKeyRelatedField(
        queryset=Department.objects.all(), many=True, required=False, default=list
    )
    note = serializers.CharField(
        max_length=2000,
        required=False,
        default="",
        allow_blank=True,
        help_text="The internal routing note (交办意见): staff and departments only.",
    )
    enterprise_note = serializers.CharField(
        max_length=2000,
        required=False,
        default="",
        allow_blank=True,
        help_text="What the enterprise reads about the routing on its tracking page.",
    )


class DeclineIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=[Appeal.Status.NOT_ACCEPTED, Appeal.Status.REDIRECTED])
    explanation = serializers.CharField(max_length=5000)


class MergeIn(serializers.Serializer):
    into_number = serializers.CharField(max_length=30)
    explanation = serializers.CharField(max_length=5000)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class NoteIn(serializers.Serializer):
    note = serializers.CharField(max_length=2000)


class ReplyIn(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Reply.Outcome.choices)
    content = serializers.CharField(max_length=5000)


class DecisionIn(serializers.Serializer):
    approve = StrictBooleanField()
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)

    # The services' rule (reply review, extension decision): a refusal says why.
    schema_any_of = required_when("approve", False, "note")


class ExtensionIn(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=30)
    reason = serializers.CharField(max_length=2000)


class BlockIn(serializers.Serializer):
    blocked = StrictBooleanField()
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)

    # The service's rule (appeals.services.waiting): marking blocked says why.
    schema_any_of = required_when("blocked", True, "reason")


class EmptyIn(serializers.Serializer):
    pass


def _id(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


# Query parameters, validated by these serializers and documented from them, so the schema
# says exactly what the list accepts (a `tag=null` or `department=0` is a 400).
class TriageQueryIn(serializers.Serializer):
    category = _id(required=False)
    region = _id(required=False)
    tag = _id(required=False)
    q = serializers.CharField(max_length=50, required=False, default="", allow_blank=True)


class NotificationQueryIn(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False, help_text="只看未读。")


class NotificationReadIn(serializers.Serializer):
    """Mark messages read: the listed ids (the caller's own; others are left alone), or with
    `all` every unread message of the caller."""

    ids = serializers.ListField(child=_id(), max_length=1000, required=False, default=list)
    all = serializers.BooleanField(required=False, default=False)

    schema_any_of = [
        {"properties": {"ids": {"minItems": 1}}, "required": ["ids"]},
        {"properties": {"all": {"enum": [True]}}, "required": ["all"]},
    ]

    def validate(self, data):
        if not data["ids"] and not data["all"]:
            raise serializers.ValidationError({"ids": [_("请指定要标记为已读的消息。")]})
        return data


class InboxQueryIn(serializers.Serializer):
    department = _id(help_text="单位编号：调用者所在的单位。")
    tab = serializers.ChoiceField(choices=list(INBOX_TABS), default="to_sign")


class PubliciseIn(serializers.Serializer):
    public = StrictBooleanField()


class SearchHitOut(AppealListOut):
    """A search result: the appeal's list fields, and its title and a piece of its content
    as HTML, escaped, with the query's words in <mark>. No contact details."""

    title_html = serializers.CharField(source="hit_title")
    snippet_html = serializers.CharField(source="hit_snippet")

    class Meta(AppealListOut.Meta):
        fields = [*AppealListOut.Meta.fields, "title_html", "snippet_html"]


class SmsInboundIn(serializers.Serializer):
    phone = serializers.CharField(max_length=30, help_text="发来短信的手机号码。")
    text = serializers.CharField(
        max_length=500,
        allow_blank=True,
        help_text="短信内容；TD 或 退订（不区分大小写、全半角）即退订。",
    )


class SmsInboundOut(serializers.Serializer):
    unsubscribed = serializers.BooleanField(
        help_text="这条短信是否为退订（该号码此后不再收到进度短信）。"
    )
