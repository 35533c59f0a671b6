"""The lists the business-environment office exports (seed 003 §二, 衢州): every appeal
(全量问题清单), the open ones by category and lead department for rectification (分类整改清单),
and the closed ones by batch (逐批销号清单).

Each list is a function returning the rows as tuples, the header first, over appeals already
scoped (`appeals_visible_to`) and filtered (`filter_for_export`). Rows are read in chunks
(`.iterator(chunk_size=CHUNK_SIZE)`), each chunk in a fixed number of queries, so an export of
any size holds a chunk (two while one is handed over) in memory, never the whole list.

Exports never carry full personal data: contact names and phones are masked, and neither the
appeal's content nor its attachments are exported. Text that a spreadsheet would take for a
formula is neutralised here, once for both formats.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any, NamedTuple

from django import forms
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appeals.filters import AppealFilter
from appeals.models import Appeal, Assignment, Rating, Reply
from appeals.selectors import assignments_of, lead_assignments, replies_published
from appeals.validators import mask_name, mask_phone
from sla.calendar import working_days_between
from sla.selectors import appeal_ids_where_department_is

CHUNK_SIZE = 2000

Cell = str | int | datetime | None
Row = tuple[Cell, ...]

# A lead assignment that still stands: being handled, or done (replied). A returned or
# cancelled lead belongs to an earlier routing.
_LEAD_STATES = (Assignment.State.ASSIGNED, Assignment.State.SIGNED, Assignment.State.DONE)

# What Excel, LibreOffice and WPS read as the start of a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class InvalidFilters(Exception):
    """The export's filters did not validate; `messages` says why, in the user's language."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


# ---------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------


class BatchPeriodForm(forms.Form):
    """The batch period of the closed list (逐批销号清单), by closing date, both days included."""

    closed_after = forms.DateField(label=gettext_lazy("销号起始日期"), required=False)
    closed_before = forms.DateField(label=gettext_lazy("销号截止日期"), required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("closed_after"), data.get("closed_before")
        if start and end and start > end:
            raise forms.ValidationError(_("销号起始日期不能晚于截止日期。"))
        return data


def default_batch_period(today: date) -> tuple[date, date]:
    """The last two months: from the first day of last month to today. The office reports
    progress every two months (seed 004 §三, 每两个月梳理通报进展)."""
    last_month = today.replace(day=1) - timedelta(days=1)
    return last_month.replace(day=1), today


def batch_period(params: QueryDict, *, today: date) -> tuple[date, date]:
    """The period asked for, the default filling in whichever end is missing: without a start,
    the two months up to the end; without an end, up to today."""
    form = BatchPeriodForm(params)
    if not form.is_valid():
        raise InvalidFilters(_form_messages(form))
    end = form.cleaned_data["closed_before"] or today
    start = form.cleaned_data["closed_after"] or default_batch_period(end)[0]
    return start, end


def appeals_filtered(appeals: QuerySet[Appeal], params: QueryDict) -> QuerySet[Appeal]:
    """`appeals` narrowed by the allow-listed filters of `AppealFilter`, as the board counts
    them: with a department and a colour together, the colour is that department's own on the
    appeal (its clocks, as the board's department chart counts it), not the appeal's worst.
    The list behind a number on the board and its export both use this. Raises
    InvalidFilters."""
    filterset = AppealFilter(params, queryset=appeals)
    if not filterset.is_valid():
        raise InvalidFilters(_form_messages(filterset.form))
    department, colour = (filterset.form.cleaned_data.get(k) for k in ("department", "colour"))
    if not (department and colour):
        return filterset.qs
    rest = params.copy()
    rest.pop("colour")
    return AppealFilter(rest, queryset=appeals).qs.filter(
        pk__in=appeal_ids_where_department_is(department, colour)
    )


def filter_for_export(
    appeals: QuerySet[Appeal], kind: str, params: QueryDict, *, today: date
) -> QuerySet[Appeal]:
    """`appeals` (already scoped to the user) narrowed by the allow-listed filters
    (`appeals_filtered`), and for the closed list by the batch period. Raises InvalidFilters."""
    appeals = appeals_filtered(appeals, params)
    if kind == "rectification":
        appeals = appeals.filter(status__in=Appeal.OPEN_STATUSES)
    elif kind == "closed":
        start, end = batch_period(params, today=today)
        # Only 销号 in the proper sense: not-accepted and redirected appeals get a closed_at
        # too (appeal_decline), but nothing was solved.
        appeals = appeals.filter(
            status=Appeal.Status.CLOSED, closed_at__date__gte=start, closed_at__date__lte=end
        )
    return appeals


def _form_messages(form: forms.Form) -> list[str]:
    messages = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else None
        for error in errors:
            if field == "__all__":
                messages.append(str(error))
            else:
                messages.append(_("%(name)s：%(value)s") % {"name": label or field, "value": error})
    return messages


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------


def neutralise(value: Cell) -> Cell:
    """A text cell that a spreadsheet would evaluate gets a leading apostrophe: "=1+1" is
    exported as "'=1+1" and shown as text, never run."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _row(*cells: Cell) -> Row:
    return tuple(neutralise(c) for c in cells)


def _local(moment: datetime | None) -> datetime | None:
    # Local wall-clock time without a zone: spreadsheets have no time zones (openpyxl refuses
    # aware datetimes) and the office reads Beijing time.
    if moment is None:
        return None
    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0)


def _label(value: object) -> str:
    return str(value) if value is not None else ""


def _labels(choices) -> dict[str, str]:
    """A field's choice labels, translated once per export: `get_FOO_display()` re-hashes the
    lazy choices on every call, which took most of an export's time."""
    return {value: str(label) for value, label in choices}


# ---------------------------------------------------------------------------------------------
# What each row needs, in a fixed number of queries per chunk
# ---------------------------------------------------------------------------------------------

# Long texts no list shows, left in the database.
_APPEAL_TEXTS = ("content", "triage_explanation", "blocked_reason")


class _Part(NamedTuple):
    """One assignment of an appeal, as much as the lists show of it."""

    role: str
    state: str
    assigned_at: datetime
    department: str


class _Answer(NamedTuple):
    """One published reply, with its rating if the enterprise gave one."""

    outcome: str
    score: str | None
    rated_at: datetime | None
    rating_id: int | None


def _lead_department(field: str) -> Subquery:
    """A field of the standing lead department: the latest lead assignment in _LEAD_STATES."""
    lead = lead_assignments(_LEAD_STATES).filter(appeal=OuterRef("pk")).order_by("-pk")
    return Subquery(lead.values(f"department__{field}")[:1])


def _with_lead_name(appeals: QuerySet[Appeal]) -> QuerySet[Appeal]:
    return appeals.annotate(lead_department_name=_lead_department("name"))


def _chunks(appeals: QuerySet[Any]) -> Iterator[list[Any]]:
    """The appeals in lists of CHUNK_SIZE, read from one cursor.

    What else a chunk needs (assignments, replies) is then read as plain tuples, one query per
    chunk each. `prefetch_related` would do the same in as many queries, but builds a model per
    related row, linked back to its appeal: reference cycles that only the garbage collector
    frees, so finished chunks piled up and memory grew with the length of the list."""
    rows = appeals.iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(rows, CHUNK_SIZE)):
        yield chunk


def _parts_of(appeal_ids: list[int]) -> dict[int, list[_Part]]:
    """Each appeal's assignments, in the order made."""
    parts: dict[int, list[_Part]] = defaultdict(list)
    rows = (
        assignments_of(appeal_ids)
        .order_by("pk")
        .values_list("appeal_id", "role", "state", "assigned_at", "department__name")
    )
    for appeal_id, role, state, assigned_at, department in rows:
        parts[appeal_id].append(_Part(role, state, assigned_at, department))
    return parts


def _answers_of(appeal_ids: list[int]) -> dict[int, list[_Answer]]:
    """Each appeal's replies the enterprise has seen, oldest first, with their ratings."""
    answers: dict[int, list[_Answer]] = defaultdict(list)
    rows = (
        replies_published()
        .filter(appeal_id__in=appeal_ids)
        .order_by("published_at", "pk")
        .values_list("appeal_id", "outcome", "rating__score", "rating__created_at", "rating__pk")
    )
    for appeal_id, outcome, score, rated_at, rating_id in rows:
        answers[appeal_id].append(_Answer(outcome, score, rated_at, rating_id))
    return answers


def _outcome(answers: list[_Answer], outcomes: dict[str, str]) -> str:
    """The outcome of the latest published reply."""
    return outcomes.get(answers[-1].outcome, "") if answers else ""


def _rating(answers: list[_Answer], scores: dict[str, str]) -> str:
    """The score of the latest rating."""
    rated = [a for a in answers if a.rating_id is not None]
    if not rated:
        return ""
    return scores.get(max(rated, key=lambda a: (a.rated_at, a.rating_id)).score or "", "")


def _co_handlers(parts: list[_Part]) -> str:
    """Co-handlers of the current routing, in the order assigned: those routed with (or after)
    the standing lead, except any that returned their part (a co-handler whose part was
    cancelled when the lead replied still co-handled). Without a lead, the active ones."""
    leads = [p for p in parts if p.role == Assignment.Role.LEAD and p.state in _LEAD_STATES]
    lead = leads[-1] if leads else None
    names: dict[str, None] = {}
    for p in parts:
        if p.role != Assignment.Role.CO or p.state == Assignment.State.RETURNED:
            continue
        if lead is None and p.state not in Assignment.ACTIVE_STATES:
            continue
        if lead is not None and p.assigned_at < lead.assigned_at:
            continue
        names[p.department] = None
    return _("、").join(names)


class _WorkingDays:
    """working_days_between, remembered per pair of dates: many rows share a filing day, and
    each call walks the calendar day by day."""

    def __init__(self):
        self._known: dict[tuple[date, date], int] = {}

    def __call__(self, start: date, end: date) -> int:
        key = (start, end)
        if key not in self._known:
            self._known[key] = working_days_between(start, end)
        return self._known[key]


# ---------------------------------------------------------------------------------------------
# The three lists
# ---------------------------------------------------------------------------------------------


def full_rows(appeals: QuerySet[Appeal], *, today: date) -> Iterator[Row]:
    """全量问题清单: every appeal, in the order filed.

    Queries per chunk of CHUNK_SIZE appeals: 3 (the appeals with category and its parent,
    region, enterprise and the lead's name; their assignments with departments; their
    published replies with ratings)."""
    header = _row(
        _("登记号"),
        _("标题"),
        _("企业"),
        _("分类"),
        _("区划"),
        _("来源渠道"),
        _("状态"),
        _("红黄绿"),
        _("牵头单位"),
        _("配合单位"),
        _("登记时间"),
        _("办结时间"),
        _("办理结果"),
        _("企业评价"),
        _("联系人"),
        _("联系电话"),
    )
    rows: QuerySet[Any] = (
        _with_lead_name(appeals)
        .select_related("category__parent", "region", "enterprise")
        .defer(*_APPEAL_TEXTS)
        .order_by("filed_at", "pk")
    )
    channels, statuses, colours = _appeal_labels()
    outcomes, scores = _labels(Reply.Outcome.choices), _labels(Rating.Score.choices)

    def body() -> Iterator[Row]:
        for chunk in _chunks(rows):
            ids = [a.pk for a in chunk]
            parts, answers = _parts_of(ids), _answers_of(ids)
            for a in chunk:
                yield _row(
                    a.number,
                    a.title,
                    a.display_enterprise,
                    _label(a.category),
                    a.region.name if a.region else "",
                    channels.get(a.channel, a.channel),
                    statuses.get(a.status, a.status),
                    colours.get(a.colour, a.colour),
                    a.lead_department_name or "",
                    _co_handlers(parts[a.pk]),
                    _local(a.filed_at),
                    _local(a.closed_at),
                    _outcome(answers[a.pk], outcomes),
                    _rating(answers[a.pk], scores),
                    mask_name(a.contact_name),
                    mask_phone(a.contact_phone),
                )

    return _with_header(header, body())


def rectification_rows(appeals: QuerySet[Appeal], *, today: date) -> Iterator[Row]:
    """分类整改清单: open appeals grouped by category (in the category tree's order, appeals
    without a category last), then by lead department (by code; appeals in triage, with no
    lead, last), oldest first within a group.

    One query per chunk (the appeals with category, its parent and the lead's name), and one
    for the holiday calendar if this process has not loaded it yet."""
    header = _row(
        _("分类"),
        _("牵头单位"),
        _("登记号"),
        _("标题"),
        _("状态"),
        _("红黄绿"),
        _("已用工作日"),
        _("退回次数"),
    )
    rows: QuerySet[Any] = (
        _with_lead_name(appeals.filter(status__in=Appeal.OPEN_STATUSES))
        .select_related("category__parent")
        .defer(*_APPEAL_TEXTS)
        .annotate(
            # A child category sorts under its parent, the parent's own appeals first.
            root_order=Coalesce("category__parent__sort_order", "category__sort_order"),
            root_code=Coalesce("category__parent__code", "category__code"),
            # Departments by code, the office's own identifier: the same order on any database
            # collation, and each department's appeals together.
            lead_department_code=_lead_department("code"),
        )
        .order_by(
            F("root_order").asc(nulls_last=True),
            F("root_code").asc(nulls_last=True),
            F("category__parent").asc(nulls_first=True),
            "category__sort_order",
            "category__code",
            F("lead_department_code").asc(nulls_last=True),
            "filed_at",
            "pk",
        )
    )
    days = _WorkingDays()
    _channels, statuses, colours = _appeal_labels()
    return _with_header(
        header,
        (
            _row(
                _label(a.category),
                a.lead_department_name or "",
                a.number,
                a.title,
                statuses.get(a.status, a.status),
                colours.get(a.colour, a.colour),
                days(timezone.localdate(a.filed_at), today),
                a.returned_count,
            )
            for a in rows.iterator(chunk_size=CHUNK_SIZE)
        ),
    )


def closed_rows(appeals: QuerySet[Appeal], *, today: date) -> Iterator[Row]:
    """逐批销号清单: closed appeals in the order closed, each in the batch of the month it was
    closed (2026-10). The batch period itself is a filter (`filter_for_export`).

    Queries per chunk: 2 (the appeals with the lead's name; their published replies with
    ratings), and one for the holiday calendar if this process has not loaded it yet."""
    header = _row(
        _("批次"),
        _("登记号"),
        _("标题"),
        _("牵头单位"),
        _("办理结果"),
        _("企业评价"),
        _("办结时间"),
        _("办理用时（工作日）"),
    )
    rows: QuerySet[Any] = (
        _with_lead_name(appeals.filter(status=Appeal.Status.CLOSED))
        .defer(*_APPEAL_TEXTS)
        .order_by("closed_at", "pk")
    )
    days = _WorkingDays()
    outcomes, scores = _labels(Reply.Outcome.choices), _labels(Rating.Score.choices)

    def body() -> Iterator[Row]:
        for chunk in _chunks(rows):
            answers = _answers_of([a.pk for a in chunk])
            for a in chunk:
                closed_at = timezone.localtime(a.closed_at)
                yield _row(
                    f"{closed_at:%Y-%m}",
                    a.number,
                    a.title,
                    a.lead_department_name or "",
                    _outcome(answers[a.pk], outcomes),
                    _rating(answers[a.pk], scores),
                    _local(a.closed_at),
                    days(timezone.localdate(a.filed_at), closed_at.date()),
                )

    return _with_header(header, body())


def _appeal_labels() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    return (
        _labels(Appeal.Channel.choices),
        _labels(Appeal.Status.choices),
        _labels(Appeal._meta.get_field("colour").choices or []),
    )


def _with_header(header: Row, body: Iterable[Row]) -> Iterator[Row]:
    # The header is translated now, in the request's language; the body is produced lazily.
    yield header
    yield from body


@dataclass(frozen=True)
class ExportList:
    kind: str
    title: Promise
    description: Promise
    rows: Callable[..., Iterator[Row]]
    # Whether the batch period (closed_after / closed_before) applies.
    batched: bool = False


LISTS: dict[str, ExportList] = {
    e.kind: e
    for e in (
        ExportList(
            "full",
            gettext_lazy("全量问题清单"),
            gettext_lazy("筛选条件下的全部诉求，含办理结果和企业评价。"),
            full_rows,
        ),
        ExportList(
            "rectification",
            gettext_lazy("分类整改清单"),
            gettext_lazy("未办结的诉求，按分类和牵头单位排列，含已用工作日和退回次数。"),
            rectification_rows,
        ),
        ExportList(
            "closed",
            gettext_lazy("逐批销号清单"),
            gettext_lazy("销号期间内已办结的诉求，按办结月份分批，含办理用时。"),
            closed_rows,
            batched=True,
        ),
    )
}
