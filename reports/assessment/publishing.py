"""The office's writes on the assessment: defining a year's scheme, and publishing (so
freezing) a finished quarter's scores. Each in one transaction, with an audit record."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ServiceConflict, ServiceError, ServiceForbidden
from departments.audit import audit_record
from departments.roles import Role, has_role
from reports.assessment.compute import assessment_compute
from reports.assessment.scheme import scheme_clean
from reports.league import quarter_bounds
from reports.models import AssessmentResult, AssessmentScheme, LeagueTable


def may_manage_assessment(user) -> bool:
    """Define schemes and publish scores: the office."""
    return has_role(user, Role.OFFICE)


def _require_office(actor) -> None:
    if not may_manage_assessment(actor):
        raise ServiceForbidden("forbidden", _("只有营商办可以管理综合考核。"))


@transaction.atomic
def assessment_scheme_define(*, actor, year: int, indicators: list, now=None) -> AssessmentScheme:
    """Define or change the scheme of `year`, until a quarter of that year is published."""
    _require_office(actor)
    if not 2000 <= year <= 2999:
        raise ServiceError("invalid_year", _("年度无效。"))
    cleaned = scheme_clean(indicators)
    now = now or timezone.now()
    # No row lock (the reports app locks nothing, tests/test_layout.py): a publication racing
    # this change still records in its result the scheme it was computed with (data["scheme"]).
    scheme = AssessmentScheme.objects.filter(year=year).first()
    if scheme is not None and scheme.results.exists():
        raise ServiceConflict(
            "scheme_frozen", _("该年度已有季度考核结果发布，考核方案不能再修改。")
        )
    if scheme is None:
        scheme = AssessmentScheme(year=year)
    scheme.indicators = cleaned
    scheme.defined_by = actor
    scheme.defined_at = now
    scheme.save()
    audit_record(
        event="assessment.scheme_defined", actor=actor, obj=scheme, at=now, detail={"year": year}
    )
    return scheme


def assessment_publish(*, actor, quarter: str, now=None) -> AssessmentResult:
    """Publish a finished quarter's scores, computed from its published league table: once, and
    never changed afterwards."""
    _require_office(actor)
    now = now or timezone.now()
    start, end = quarter_bounds(quarter)
    if end >= timezone.localdate(now):
        raise ServiceConflict("quarter_not_over", _("季度结束后才能发布该季度的考核结果。"))
    scheme = AssessmentScheme.objects.filter(year=start.year).first()
    if scheme is None:
        raise ServiceConflict("no_scheme", _("请先制定该年度的考核方案。"))
    if not LeagueTable.objects.filter(quarter=quarter).exists():
        raise ServiceConflict(
            "league_not_published", _("请先发布该季度的红黑榜：考核按冻结后的季度数据计算。")
        )
    if AssessmentResult.objects.filter(quarter=quarter).exists():
        raise ServiceConflict("already_published", _("该季度考核结果已发布，发布后不再变动。"))
    data = assessment_compute(quarter, scheme)
    try:
        with transaction.atomic():
            result = AssessmentResult.objects.create(
                scheme=scheme, quarter=quarter, published_at=now, published_by=actor, data=data
            )
            audit_record(
                event="assessment.published",
                actor=actor,
                obj=result,
                at=now,
                detail={"quarter": quarter},
            )
            return result
    except IntegrityError:
        raise ServiceConflict(
            "already_published", _("该季度考核结果已发布，发布后不再变动。")
        ) from None
