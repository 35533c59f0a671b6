"""Finding appeals (issue #18), a read module: staff search, similar appeals at triage, the
public form's duplicate check, and earlier replies for reference (类案参考).

Everything a user finds starts from `appeals_visible_to`, so nobody finds an appeal they could
not open. The words come from appeals.text (which says why jieba + PostgreSQL 'simple'
full-text); the stored column is `Appeal.search_text`, indexed by `appeal_search_text_gin`
(migration 0011) on PostgreSQL. SQLite looks for " word " in the same column and finds the
same rows.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from appeals.models import Appeal, Assignment, Enterprise, Reply
from appeals.selectors import appeals_visible_to
from appeals.text import (
    content_words,
    dice,
    highlight_pattern,
    keywords,
    normalise,
    query_words,
    search_text,
    simplified,
)
from appeals.validators import (
    CREDIT_CODE_STORED,
    is_phone,
    normalize_credit_code,
    normalize_phone,
)

MAX_QUERY_LENGTH = 100
# More words than this narrow nothing further and only make the query longer.
MAX_QUERY_WORDS = 8
_NUMBER = re.compile(r"^[A-Z]{1,10}-\d{4}(-\d{0,6})?$")


class SearchRefused(Exception):
    """The query cannot be searched; `message` tells the user why, in their language."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ParsedQuery:
    kind: str  # "number", "credit_code", "phone" or "text"
    value: str
    words: tuple[str, ...] = ()


def parse_query(raw: str) -> ParsedQuery:
    """What the user typed, recognised as a registration number, a credit code, a phone
    number or words; refused (SearchRefused) when there is nothing to search by."""
    query = (raw or "").strip()
    if not query:
        raise SearchRefused(
            "empty", _("请输入要搜索的内容：登记号、企业名称、统一社会信用代码、电话或关键词。")
        )
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchRefused(
            "too_long", _("搜索内容过长，请不超过%(n)d个字。") % {"n": MAX_QUERY_LENGTH}
        )
    upper = normalise(query).upper().replace(" ", "")
    if _NUMBER.match(upper):
        return ParsedQuery("number", upper)
    code = normalize_credit_code(query)
    if re.match(CREDIT_CODE_STORED, code):
        return ParsedQuery("credit_code", code)
    phone = normalize_phone(query)
    if is_phone(phone):
        return ParsedQuery("phone", phone)
    words = query_words(query)
    if not words:
        raise SearchRefused("no_words", _("搜索内容中没有可查找的字词，请输入文字、数字或字母。"))
    if len(words) == 1 and len(words[0]) < 2:
        raise SearchRefused("too_short", _("请至少输入两个字，或输入完整的登记号。"))
    return ParsedQuery("text", query, tuple(words[:MAX_QUERY_WORDS]))


def _with_words(qs: QuerySet[Appeal], words, *, any_word: bool = False) -> QuerySet[Appeal]:
    """Appeals whose search words hold all the words (any of them with any_word)."""
    if connection.vendor == "postgresql":
        # Exactly the indexed expression (migration 0011), so the GIN index serves it. The
        # words are letters and digits only (appeals.text), never tsquery syntax, and they
        # are passed as a parameter.
        tsquery = (" | " if any_word else " & ").join(words)
        match = RawSQL(
            "to_tsvector('simple'::regconfig, appeals_appeal.search_text)"
            " @@ to_tsquery('simple'::regconfig, %s)",
            [tsquery],
            output_field=BooleanField(),
        )
        return qs.alias(words_match=match).filter(words_match=True)
    conditions = [Q(search_text__contains=f" {w} ") for w in words]
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = (combined | condition) if any_word else (combined & condition)
    return qs.filter(combined)


def appeals_search(user, query: ParsedQuery) -> QuerySet[Appeal]:
    """The appeals the user may open that match the query, newest first. An appeal filed
    without a name (无署名) is not found by credit code or phone: its filer asked not to be
    known, so staff do not find it by who they are."""
    qs = appeals_visible_to(user)
    if query.kind == "number":
        qs = qs.filter(number__startswith=query.value)
    elif query.kind == "credit_code":
        # The enterprise's id first, not a join: `credit_code = … OR enterprise.credit_code = …`
        # across the join was applied after joining every appeal to every enterprise (a
        # sequential scan, 369 ms at 100,000 appeals, bench/README.md); two indexed conditions
        # are one bitmap OR.
        enterprises = list(
            Enterprise.objects.filter(credit_code=query.value).values_list("pk", flat=True)
        )
        qs = qs.filter(
            Q(credit_code=query.value) | Q(enterprise_id__in=enterprises),
            is_anonymous=False,
        )
    elif query.kind == "phone":
        qs = qs.filter(contact_phone=query.value, is_anonymous=False)
    else:
        qs = _with_words(qs, query.words)
    return qs.select_related("category__parent", "region", "enterprise").order_by(
        "-filed_at", "-pk"
    )


def highlight(text: str, words, *, around: int | None = None) -> SafeString:
    """The text escaped, with the words marked (<mark>). With `around`, only a window of that
    many characters before the first match (and twice as many after it)."""
    text = text or ""
    pattern = highlight_pattern(words)
    if around is not None:
        first = pattern.search(simplified(text)) if pattern else None
        start = max(0, first.start() - around) if first else 0
        end = start + 3 * around
        window = text[start:end]
        prefix, suffix = ("…" if start else ""), ("…" if end < len(text) else "")
        return mark_safe(prefix + highlight(window, words) + escape(suffix))  # noqa: S308  # nosec B308 B703
    if pattern is None:
        return escape(text)
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(simplified(text)):
        parts.append(escape(text[last : match.start()]))
        parts.append(f"<mark>{escape(text[match.start() : match.end()])}</mark>")
        last = match.end()
    parts.append(escape(text[last:]))
    # Every piece of the user's or the filer's text went through escape() above.
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703


@dataclass
class Hit:
    appeal: Appeal
    title: SafeString
    snippet: SafeString


def search_hits(appeals, query: ParsedQuery) -> list[Hit]:
    """The rows of one page, with the query's words marked in the title and the content."""
    words = query.words if query.kind == "text" else ()
    return [
        Hit(a, highlight(a.title, words), highlight(a.content, words, around=30)) for a in appeals
    ]


# --- Similar appeals at triage ----------------------------------------------------------------

# Closed appeals are suggested for this long after they closed: a repeat of a matter closed
# last month is worth knowing about, one from two years ago mostly is not.
RECENTLY_CLOSED = timedelta(days=90)
# Candidates read per source; then scored in Python (a few hundred rows, one query each).
CANDIDATES = 200
# Below this text likeness, an appeal is suggested only with another reason (same enterprise).
MIN_LIKENESS = 0.25
# Appeals written from the same stock phrases (我公司成立于…, 恳请相关部门尽快协调解决) reach
# the threshold above without being the same matter; a true duplicate stands well above them.
# So a suggestion must also come within this share of the best one's score (bench/similar.py:
# without it precision@5 was 0.38, with it 0.63; bench/README.md, issue #18).
RELATIVE_TO_BEST = 0.7


@dataclass
class Suggestion:
    appeal: Appeal
    score: float
    reasons: list[str] = field(default_factory=list)
    # The merge service only merges into an earlier appeal that is not merged itself.
    may_merge: bool = False


def _same_enterprise(appeal: Appeal) -> Q | None:
    q = Q()
    if appeal.enterprise_id:
        q |= Q(enterprise_id=appeal.enterprise_id)
    if appeal.credit_code:
        q |= Q(credit_code=appeal.credit_code)
    return q if q else None


def appeals_similar(user, appeal: Appeal, *, now: datetime, limit: int = 5) -> list[Suggestion]:
    """The open and recently closed appeals most like this one, that the user may open, each
    with its reasons: the same enterprise, like words, the same category and region."""
    since = now - RECENTLY_CLOSED
    scope = (
        appeals_visible_to(user)
        .exclude(pk=appeal.pk)
        .exclude(status=Appeal.Status.MERGED)
        .filter(Q(status__in=Appeal.OPEN_STATUSES) | Q(closed_at__gte=since))
        .select_related("category", "region")
    )
    found: dict[int, Appeal] = {}
    same = _same_enterprise(appeal)
    if same is not None:
        for a in scope.filter(same).order_by("-filed_at")[:CANDIDATES]:
            found[a.pk] = a
    terms = keywords(appeal.title, appeal.content)
    if terms:
        for a in _with_words(scope, terms, any_word=True).order_by("-filed_at")[:CANDIDATES]:
            found.setdefault(a.pk, a)
    mine = content_words(appeal.search_text or search_text(appeal.title, appeal.content))
    suggestions = []
    for other in found.values():
        reasons, score = [], 0.0
        if same is not None and (
            (appeal.enterprise_id and other.enterprise_id == appeal.enterprise_id)
            or (appeal.credit_code and other.credit_code == appeal.credit_code)
        ):
            reasons.append(_("同一企业"))
            score += 0.5
        likeness = dice(mine, content_words(other.search_text))
        if likeness >= MIN_LIKENESS:
            shared = sorted(mine & content_words(other.search_text), key=terms_rank(terms))[:4]
            reasons.append(
                _("内容相似（%(p)d%%，共同词：%(w)s）")
                % {"p": round(likeness * 100), "w": _("、").join(shared)}
            )
        elif not reasons:
            continue
        score += likeness
        if appeal.category_id and other.category_id == appeal.category_id:
            reasons.append(_("同一分类"))
            score += 0.1
        if appeal.region_id and other.region_id == appeal.region_id:
            reasons.append(_("同一区划"))
            score += 0.1
        may_merge = (other.filed_at, other.pk) < (appeal.filed_at, appeal.pk)
        suggestions.append(Suggestion(other, score, reasons, may_merge))
    suggestions.sort(key=lambda s: (-s.score, -s.appeal.pk))
    if suggestions:
        floor = suggestions[0].score * RELATIVE_TO_BEST
        suggestions = [s for s in suggestions if s.score >= floor]
    return suggestions[:limit]


def terms_rank(terms: list[str]):
    """Sort key: the appeal's keywords first, in their order, then the rest alphabetically."""
    order = {t: i for i, t in enumerate(terms)}
    return lambda w: (order.get(w, len(order)), w)


# --- The public form: is this matter already open? -------------------------------------------


def open_duplicate_exists(*, credit_code: str, title: str) -> bool:
    """Whether an open appeal of this credit code is about the same matter as this title.
    Only yes or no: the filer is told to track the appeal they already have, and learns
    nothing else (not its number, title or filer)."""
    code = normalize_credit_code(credit_code or "")
    mine = content_words(search_text(title or ""))
    if not re.match(CREDIT_CODE_STORED, code) or not mine:
        return False
    open_titles = (
        Appeal.objects.filter(
            Q(credit_code=code) | Q(enterprise__credit_code=code),
            status__in=Appeal.OPEN_STATUSES,
        )
        .order_by("-filed_at")
        .values_list("title", flat=True)[:50]
    )
    for other in open_titles:
        theirs = content_words(search_text(other))
        shared = len(mine & theirs)
        # Most of the shorter title's words in the other: "拖欠工程款" and "区住建局拖欠我司
        # 工程款" are the same matter, "工程款" alone against a long title is not.
        if theirs and shared and shared / min(len(mine), len(theirs)) >= 0.6:
            return True
    return False


# --- Earlier replies for reference (类案参考) ----------------------------------------------


@dataclass
class Reference:
    reply: Reply
    score: float


def reply_references(assignment: Assignment, *, limit: int = 5) -> list[Reference]:
    """The published replies of this department to its closed appeals of the same category,
    most like this appeal first; the office's model answers (示范答复) before all others."""
    appeal = assignment.appeal
    if appeal.category_id is None:
        return []
    candidates = (
        Reply.objects.filter(
            state=Reply.State.PUBLISHED,
            assignment__department_id=assignment.department_id,
            appeal__category_id=appeal.category_id,
            appeal__status=Appeal.Status.CLOSED,
        )
        .exclude(appeal_id=appeal.pk)
        .select_related("appeal", "rating", "assignment__department")
        .order_by("-is_model_answer", "-published_at", "-pk")[:CANDIDATES]
    )
    mine = content_words(appeal.search_text or search_text(appeal.title, appeal.content))
    scored = [Reference(r, dice(mine, content_words(r.appeal.search_text))) for r in candidates]
    scored = [s for s in scored if s.reply.is_model_answer or s.score > 0]
    scored.sort(key=lambda s: (not s.reply.is_model_answer, -s.score, -s.reply.pk))
    return scored[:limit]
