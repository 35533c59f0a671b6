"""Reads about appeals. `appeals_visible_to` is the one place that decides who sees which
appeal; every list and every detail view, HTML or API, starts from it."""

import hmac
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from urllib.parse import quote

from django.db.models import (
    Case,
    Count,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS

from appeals.codes import query_code_hash
from appeals.models import (
    Appeal,
    Assignment,
    Enterprise,
    ExtensionRequest,
    IdempotencyKey,
    Notification,
    Reply,
    TimelineEvent,
)
from core.sealing import lookup_hash
from departments.models import Membership
from departments.roles import Role, roles_of
from departments.selectors import (
    category_labels,
    department_ids_of,
    region_ids_within,
    region_of,
)

# Roles that see every appeal (read-only for the leader).
_SEE_ALL = {Role.OFFICE, Role.LEADER, Role.COMMISSIONER}


def appeals_visible_to(user) -> QuerySet[Appeal]:
    """Appeals the user may see: all for the office, leaders and commissioners; a department's
    staff see appeals ever assigned to their departments; an enterprise sees its own.
    Supervisors see only anonymised boards, never an appeal. Anonymous users see nothing
    (the tracking page grants one appeal by number and query code instead)."""
    roles = roles_of(user)
    if not roles and not getattr(user, "is_authenticated", False):
        return Appeal.objects.none()
    if roles & _SEE_ALL:
        return Appeal.objects.all()
    visible = Q(filed_by=user)
    dept_ids = department_ids_of(user)
    if dept_ids:
        visible |= Q(
            pk__in=Assignment.objects.filter(department_id__in=dept_ids).values("appeal_id")
        )
    if Role.ENTERPRISE in roles:
        visible |= Q(
            enterprise_id__in=Enterprise.users.through.objects.filter(user=user).values(
                "enterprise_id"
            )
        )
    return Appeal.objects.filter(visible)


def appeal_get_visible(user, number: str) -> Appeal:
    """The appeal with this number if the user may see it; 404 otherwise, the same answer as
    for a number that does not exist."""
    appeal = appeals_visible_to(user).filter(number=number).first()
    if appeal is None:
        raise Http404
    return appeal


def appeal_find_by_code(number: str, code: str) -> Appeal | None:
    """Anonymous tracking: the appeal only if the number and the query code both match."""
    appeal = Appeal.objects.filter(number=number.strip().upper()).first()
    expected = appeal.query_code_hash if appeal else "0" * 64
    # Compare even when the number is unknown, so both failures take the same time.
    matches = hmac.compare_digest(expected, query_code_hash(code))
    return appeal if appeal is not None and matches else None


def appeal_detail(appeal: Appeal) -> Appeal:
    """The appeal with everything its detail page shows, in a fixed number of queries."""
    return (
        Appeal.objects.select_related(
            "category__parent", "region", "enterprise", "commissioner", "merged_into"
        )
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=Assignment.objects.select_related("department", "signed_by").order_by(
                    "assigned_at", "pk"
                ),
            ),
            Prefetch(
                "events",
                queryset=TimelineEvent.objects.select_related(
                    "actor", "department"
                ).prefetch_related("actor__groups"),
            ),
            Prefetch(
                "replies",
                queryset=Reply.objects.select_related("assignment__department", "author", "rating"),
            ),
            "opinions__assignment__department",
            "opinions__author",
            "attachments",
            "followups__author",
            "extensions__assignment__department",
            "enterprise__tags",
        )
        .get(pk=appeal.pk)
    )


def _list_related(qs: QuerySet[Appeal]) -> QuerySet[Appeal]:
    return qs.select_related("category__parent", "region", "enterprise").prefetch_related(
        "enterprise__tags"
    )


def triage_queue(
    user,
    *,
    category_id: int | None = None,
    region_id: int | None = None,
    tag_id: int | None = None,
    search: str = "",
) -> QuerySet[Appeal]:
    """Appeals waiting for triage (new and returned): the commissioner's own key enterprises
    first, then urgent ones, then oldest first."""
    qs = appeals_visible_to(user).filter(status=Appeal.Status.TRIAGE)
    if category_id:
        qs = qs.filter(Q(category_id=category_id) | Q(category__parent_id=category_id))
    if region_id:
        qs = qs.filter(region_id__in=region_ids_within(region_id))
    if tag_id:
        qs = qs.filter(
            enterprise_id__in=Enterprise.tags.through.objects.filter(
                enterprisetag_id=tag_id
            ).values("enterprise_id")
        )
    if search:
        qs = qs.filter(
            Q(number__icontains=search)
            | Q(title__icontains=search)
            | Q(enterprise_name__icontains=search)
        )
    # The enterprise is prefetched for the page, not joined: joined, PostgreSQL hashed every
    # enterprise (50,000 in a province) before it sorted the queue and kept 25 rows, and the
    # page's query took 42 ms instead of 16 at 1,000,000 appeals (bench/README.md).
    return (
        qs.select_related("category__parent", "region")
        .prefetch_related("enterprise__tags")
        .annotate(
            own=Case(
                When(commissioner_id=getattr(user, "pk", None), then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            urgent=Case(
                When(priority=Appeal.Priority.URGENT, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .order_by("own", "urgent", "filed_at", "pk")
    )


INBOX_TABS = {
    "to_sign": (Assignment.State.ASSIGNED,),
    "in_progress": (Assignment.State.SIGNED,),
    "done": (Assignment.State.DONE, Assignment.State.RETURNED),
}


def department_inbox(user, *, department_id: int, tab: str) -> QuerySet[Assignment]:
    """A department's assignments in one tab of its inbox, oldest first. Empty for a user who
    is not a member of the department."""
    if department_id not in department_ids_of(user):
        return Assignment.objects.none()
    order = "-done_at" if tab == "done" else "assigned_at"
    return (
        Assignment.objects.filter(department_id=department_id, state__in=INBOX_TABS[tab])
        .select_related(
            "appeal__category__parent", "appeal__region", "appeal__enterprise", "department"
        )
        # The department's own deadlines for each row (sla's clocks, by their related name).
        .prefetch_related("clocks")
        .order_by(order, "pk")
    )


def inbox_counts(user, *, department_id: int) -> dict[str, int]:
    """How many assignments each tab of the department's inbox holds, in one query."""
    if department_id not in department_ids_of(user):
        return dict.fromkeys(INBOX_TABS, 0)
    return Assignment.objects.filter(department_id=department_id).aggregate(
        # The state, not the id: the inbox index (department, state, …) answers it alone.
        **{tab: Count("state", filter=Q(state__in=states)) for tab, states in INBOX_TABS.items()}
    )


def review_queue(user) -> QuerySet[Reply]:
    """Replies that say no, waiting for this user's review: as head of their departments, and
    as the office; never their own, nor one they passed at the head's level (the rules of
    actions.review_refusal, as a query)."""
    roles = roles_of(user)
    q = Q(
        state=Reply.State.PENDING_HEAD,
        assignment__department_id__in=department_ids_of(user, Membership.Role.HEAD),
    )
    if Role.OFFICE in roles:
        q |= Q(state=Reply.State.PENDING_OFFICE) & ~Q(head_reviewed_by=user)
    return (
        Reply.objects.filter(q)
        .exclude(author=user)
        .select_related("appeal", "assignment__department", "author")
        .order_by("created_at", "pk")
    )


def my_appeals(user) -> QuerySet[Appeal]:
    """An enterprise user's own appeals, newest first."""
    if not getattr(user, "is_authenticated", False):
        return Appeal.objects.none()
    own = Q(filed_by=user) | Q(
        enterprise_id__in=Enterprise.users.through.objects.filter(user=user).values("enterprise_id")
    )
    return _list_related(Appeal.objects.filter(own)).order_by("-filed_at", "-pk")


def pending_extensions(user) -> QuerySet[ExtensionRequest]:
    """Extension requests waiting for the office's decision (none for other roles), less the
    user's own (actions.extension_decision_refusal)."""
    if Role.OFFICE not in roles_of(user):
        return ExtensionRequest.objects.none()
    return (
        ExtensionRequest.objects.filter(state=ExtensionRequest.State.PENDING)
        .exclude(requested_by=user)
        .select_related("appeal", "assignment__department")
        .order_by("created_at", "pk")
    )


def notifications_of(user) -> QuerySet[Notification]:
    """A user's in-app messages, newest first."""
    return Notification.objects.filter(
        recipient=user, channel=Notification.Channel.INAPP
    ).select_related("appeal")


def notification_groups(user) -> QuerySet:
    """A user's in-app messages, one row per appeal and local day, newest first (a busy appeal
    sends several a day; one row with a count keeps the inbox readable). Each row is a dict:
    `appeal_id`, `day`, `count`, `unread` (how many of them), `newest` (the newest one's id)
    and `last_at`. `notification_groups_shown` adds the newest message to the rows shown."""
    return (
        Notification.objects.filter(recipient=user, channel=Notification.Channel.INAPP)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("appeal_id", "day")
        .annotate(
            count=Count("pk"),
            unread=Count("pk", filter=Q(read_at__isnull=True)),
            newest=Max("pk"),
            last_at=Max("created_at"),
        )
        .order_by("-last_at", "-newest")
    )


def notification_groups_shown(groups: Iterable[dict]) -> list[dict]:
    """The rows of one page of `notification_groups`, each with `latest`: its newest message
    and that message's appeal (one query for the page)."""
    groups = list(groups)
    newest = Notification.objects.select_related("appeal").in_bulk([g["newest"] for g in groups])
    return [{**g, "latest": newest[g["newest"]]} for g in groups]


UNREAD_SHOWN = 99  # the top bar's badge says "99+" beyond this


def unread_count(user) -> int:
    """Unread in-app messages for the top bar, counted up to UNREAD_SHOWN + 1 only: every page
    shows it, and a user with thousands unread must not make every page count them all (the
    partial index notification_unread_idx serves it)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    unread = Notification.objects.filter(
        recipient=user, channel=Notification.Channel.INAPP, read_at__isnull=True
    )
    return len(unread.values_list("pk", flat=True)[: UNREAD_SHOWN + 1])


def replies_published_of(appeal: Appeal) -> QuerySet[Reply]:
    """An appeal's replies the enterprise has seen, oldest first, with their department."""
    return (
        replies_published()
        .filter(appeal=appeal)
        .select_related("assignment__department")
        .order_by("published_at", "pk")
    )


def appeals_merged_into(appeal: Appeal) -> QuerySet[Appeal]:
    """The appeals merged into this one (并案): their filers were promised its answer."""
    return Appeal.objects.filter(merged_into=appeal, status=Appeal.Status.MERGED).order_by("pk")


def public_board_appeals(limit: int = 200) -> QuerySet[Appeal]:
    """The appeals the office put on the public board, with their lead department's name."""
    lead = Assignment.objects.filter(appeal=OuterRef("pk"), role=Assignment.Role.LEAD).exclude(
        state__in=[Assignment.State.CANCELLED, Assignment.State.RETURNED]
    )
    return (
        Appeal.objects.filter(on_public_board=True)
        .select_related("category", "region")
        .annotate(lead_name=Subquery(lead.values("department__name")[:1]))
        .order_by("-filed_at")[:limit]
    )


# ---------------------------------------------------------------------------------------------
# What the office's reports (the reports app) read: plain querysets, never locked, that the
# reports narrow, group and count. The reports never touch the managers themselves.
# ---------------------------------------------------------------------------------------------


def appeals_open() -> QuerySet[Appeal]:
    return Appeal.objects.filter(status__in=Appeal.OPEN_STATUSES)


def appeals_filed_in(since: datetime, until: datetime) -> QuerySet[Appeal]:
    """Filed in [since, until): a half-open range of aware datetimes an index serves."""
    return Appeal.objects.filter(filed_at__gte=since, filed_at__lt=until)


def appeals_closed_in(since: datetime, until: datetime) -> QuerySet[Appeal]:
    """Closed in [since, until) (declined and merged appeals are closed too)."""
    return Appeal.objects.filter(
        status=Appeal.Status.CLOSED, closed_at__gte=since, closed_at__lt=until
    )


def assignments_active_on_open_appeals() -> QuerySet[Assignment]:
    """The departments' parts still being worked on, of appeals still open."""
    return Assignment.objects.filter(
        state__in=Assignment.ACTIVE_STATES, appeal__status__in=Appeal.OPEN_STATUSES
    )


def lead_assignments(states: Iterable[str]) -> QuerySet[Assignment]:
    return Assignment.objects.filter(role=Assignment.Role.LEAD, state__in=list(states))


def assignments_of(appeal_ids: Iterable[int]) -> QuerySet[Assignment]:
    return Assignment.objects.filter(appeal_id__in=list(appeal_ids))


def replies_published() -> QuerySet[Reply]:
    """Replies the enterprise has seen."""
    return Reply.objects.filter(state=Reply.State.PUBLISHED)


def assignments_returned_in(since: datetime, until: datetime) -> QuerySet[Assignment]:
    """Departments' returns (退回) made in [since, until)."""
    return Assignment.objects.filter(
        state=Assignment.State.RETURNED, done_at__gte=since, done_at__lt=until
    )


def replies_sent_back_by_office_in(since: datetime, until: datetime) -> QuerySet:
    """The history rows of say-no replies the office sent back on review in [since, until):
    the department's "no" overturned (reason code of appeals.services.handling.reply_review)."""
    return Reply.history.filter(
        history_change_reason="office_sent_back", history_date__gte=since, history_date__lt=until
    )


def idempotency_owner(actor, client: str) -> str:
    """Whose `Idempotency-Key` it is: a user's, or for anonymous callers their address's."""
    if actor is not None and actor.is_authenticated:
        return f"user:{actor.pk}"
    return f"anon:{client}"[:60]


def idempotency_receipt_stored(*, actor, client: str, key: str) -> bool:
    """A filing under this caller's `Idempotency-Key` has been made and its receipt kept: a
    call with the key can only get that receipt back (or be refused), never file again."""
    return IdempotencyKey.objects.filter(
        owner=idempotency_owner(actor, client),
        key_hash=lookup_hash(key[:100]),
        sealed_receipt__isnull=False,
    ).exists()


# The rows of the staff list pages, computed here instead of looked up row by row in their
# templates (issue #16: rendering took ~90 % of those pages): every label in the reader's
# language translated once per page and the detail link built from one reversed URL. The
# colour dots and an inbox row's deadlines are sla's: its `deadline_rows` tag adds them.


def _detail_url() -> Callable[[str], str]:
    """appeal number → reverse("appeal_detail", args=[number]), reversing once."""
    head, tail = reverse("appeal_detail", args=["@"]).split("@")
    return lambda number: head + quote(number, safe=RFC3986_SUBDELIMS + "/~:@") + tail


def _labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices.choices}


def _minute(moment: datetime | None) -> str:
    """{{ moment|date:"m-d H:i" }}."""
    return timezone.localtime(moment).strftime("%m-%d %H:%M") if moment else ""


# What the staff list pages' rows read (triage_rows, inbox_rows): a page loads no more than
# that (issue #16). A field missing here is read again for every row: tests/appeals/test_views.py
# counts each page's statements.
_TRIAGE_ROW_FIELDS = (
    "number",
    "title",
    "colour",
    "priority",
    "returned_count",
    "is_anonymous",
    "enterprise",
    "enterprise_name",
    "category",
    "region",
    "filed_at",
    "status",
)
_INBOX_ROW_FIELDS = (
    "role",
    "state",
    "assigned_at",
    "appeal__number",
    "appeal__title",
    "appeal__colour",
    "appeal__category",
)


def for_triage_rows(appeals: QuerySet[Appeal]) -> QuerySet[Appeal]:
    """`triage_queue` narrowed to what `triage_rows` reads: the enterprises it reads itself,
    the categories and regions are held by the process (departments.selectors.CHOICES)."""
    return appeals.only(*_TRIAGE_ROW_FIELDS).select_related(None).prefetch_related(None)


def _enterprises_listed(ids: set[int]) -> dict[int, tuple[str, list[str]]]:
    """The name and tags of each enterprise of a page's rows, read as plain values in two
    queries: prefetched as rows, each with a manager for its tags, they took a fifth of the
    triage queue's time (bench/README.md, issue #16)."""
    if not ids:
        return {}
    tags: dict[int, list[str]] = defaultdict(list)
    for enterprise_id, name in (
        Enterprise.tags.through.objects.filter(enterprise_id__in=ids)
        .order_by("enterprisetag__code")  # the tags' own order (EnterpriseTag.Meta)
        .values_list("enterprise_id", "enterprisetag__name")
    ):
        tags[enterprise_id].append(name)
    names = Enterprise.objects.filter(pk__in=ids).values_list("pk", "name")
    return {pk: (name, tags[pk]) for pk, name in names}


def for_inbox_rows(assignments: QuerySet[Assignment]) -> QuerySet[Assignment]:
    """`department_inbox` narrowed to what `inbox_rows` reads (the API reads more of it): the
    rows' clocks are read by sla's `deadline_rows` tag, for the page at once."""
    return (
        assignments.select_related(None)
        .select_related("appeal")
        .prefetch_related(None)
        .only(*_INBOX_ROW_FIELDS)
    )


def triage_rows(appeals: Iterable[Appeal]) -> list[dict]:
    """The rows of the triage queue (templates/appeals/triage_queue.html), for the appeals of
    one page of `triage_queue`."""
    from appeals.templatetags.appeals_tags import status_class

    url, statuses = _detail_url(), _labels(Appeal.Status)
    appeals = list(appeals)
    listed = _enterprises_listed({a.enterprise_id for a in appeals if a.enterprise_id})
    categories = category_labels(a.category_id for a in appeals if a.category_id)
    return [
        {
            "colour": a.colour,
            "url": url(a.number),
            "number": a.number,
            "title": a.title,
            "urgent": a.priority == Appeal.Priority.URGENT,
            "returned_count": a.returned_count,
            "enterprise": a.enterprise_shown(listed[a.enterprise_id][0] if a.enterprise_id else ""),
            "tags": listed[a.enterprise_id][1] if a.enterprise_id else [],
            "category": categories[a.category_id] if a.category_id else "—",
            "region": str(region_of(a.region_id) or "—") if a.region_id else "—",
            "filed_at": _minute(a.filed_at),
            "status_class": status_class(a.status),
            "status": statuses.get(a.status, a.status),
        }
        for a in appeals
    ]


def inbox_rows(assignments: Iterable[Assignment]) -> list[dict]:
    """The rows of a department's inbox (templates/appeals/inbox.html), for the assignments of
    one page of `for_inbox_rows` (sla's `deadline_rows` adds their clocks by "assignment_id")."""
    url = _detail_url()
    roles, states = _labels(Assignment.Role), _labels(Assignment.State)
    assignments = list(assignments)
    categories = category_labels(a.appeal.category_id for a in assignments if a.appeal.category_id)
    return [
        {
            "assignment_id": a.pk,
            "colour": a.appeal.colour,
            "url": url(a.appeal.number),
            "number": a.appeal.number,
            "title": a.appeal.title,
            "role": roles.get(a.role, a.role),
            "category": categories[a.appeal.category_id] if a.appeal.category_id else "—",
            "assigned_at": _minute(a.assigned_at),
            "state": states.get(a.state, a.state),
        }
        for a in assignments
    ]
