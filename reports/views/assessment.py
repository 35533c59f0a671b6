"""The assessment pages (综合考核): the year's scheme and scores, a quarter's breakdown, its
publication and its accountability list. For the office and the city's leaders."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appeals.views.access import role_required
from core.errors import ServiceError
from departments.audit import audit_record
from departments.roles import Role, has_role
from reports.assessment.accountability import accountability_rows
from reports.assessment.compute import assessment_year
from reports.assessment.publishing import assessment_publish, assessment_scheme_define
from reports.assessment.reads import assessment_quarter, assessment_quarters
from reports.assessment.scheme import DEFAULT_SCHEME, RULE_OF, Indicator, Rule
from reports.league import quarter_bounds
from reports.models import AssessmentScheme
from reports.spreadsheets import CONTENT_TYPES, xlsx_file

READERS = (Role.OFFICE, Role.LEADER)


def _year(request) -> int:
    try:
        year = int(request.GET.get("year") or request.POST.get("year") or 0)
    except ValueError:
        year = 0
    return year if 2000 <= year <= 2999 else timezone.localdate().year


def _scheme_rows(scheme: AssessmentScheme | None) -> list[dict]:
    """Every indicator with its weight and parameter, as the form shows them (weight 0: not
    in the scheme)."""
    current = {i["indicator"]: i for i in (scheme.indicators if scheme else DEFAULT_SCHEME)}
    rows = []
    for indicator in Indicator:
        spec = current.get(indicator.value, {})
        rule = RULE_OF[indicator]
        rows.append(
            {
                "indicator": indicator,
                "rule": rule,
                "weight": spec.get("weight", 0),
                "param": spec.get("floor" if rule == Rule.RATE else "points", ""),
            }
        )
    return rows


def _quarter(quarter: str) -> str:
    try:
        quarter_bounds(quarter)
    except ServiceError:
        raise Http404 from None
    return quarter


@role_required(*READERS)
def assessment_view(request):
    year = _year(request)
    scheme = AssessmentScheme.objects.filter(year=year).first()
    return render(
        request,
        "reports/assessment.html",
        {
            "year": year,
            "scheme": scheme,
            "scheme_rows": _scheme_rows(scheme),
            "quarters": assessment_quarters(year),
            "year_scores": assessment_year(year),
            "can_manage": has_role(request.user, Role.OFFICE),
        },
    )


def _number(raw: str) -> float | str:
    try:
        return float(raw)
    except ValueError:
        return raw


@role_required(Role.OFFICE)
@require_POST
def assessment_scheme_view(request):
    year = _year(request)
    indicators = []
    for indicator in Indicator:
        weight = _number(request.POST.get(f"weight_{indicator.value}", "0") or "0")
        if weight in (0, 0.0):
            continue
        rule = RULE_OF[indicator]
        param = "floor" if rule == Rule.RATE else "points"
        indicators.append(
            {
                "indicator": indicator.value,
                "weight": weight,
                "rule": rule.value,
                param: _number(request.POST.get(f"param_{indicator.value}", "") or "0"),
            }
        )
    try:
        assessment_scheme_define(actor=request.user, year=year, indicators=indicators)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("考核方案已保存。"))
    return redirect(f"{reverse('assessment')}?year={year}")


@role_required(*READERS)
def assessment_quarter_view(request, quarter: str):
    data = assessment_quarter(_quarter(quarter))
    if data is None:
        raise Http404
    labels = dict(Indicator.choices)
    for dept in data["departments"]:
        # Stored as codes; the words are the reader's.
        dept["indicators"] = [
            {**i, "label": labels.get(i["indicator"], i["indicator"])} for i in dept["indicators"]
        ]
    return render(
        request,
        "reports/assessment_quarter.html",
        {"data": data, "can_manage": has_role(request.user, Role.OFFICE)},
    )


@role_required(Role.OFFICE)
@require_POST
def assessment_publish_view(request, quarter: str):
    try:
        assessment_publish(actor=request.user, quarter=_quarter(quarter))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("考核结果已发布并冻结。"))
    return redirect("assessment_quarter", quarter=quarter)


@role_required(*READERS)
def accountability_xlsx(request, quarter: str):
    """The accountability list, built in the request: it reads the stored result's JSON (a
    preview's is computed once), bounded by the items that lost points, not the appeals."""
    data = assessment_quarter(_quarter(quarter))
    if data is None:
        raise Http404
    file, written = xlsx_file(accountability_rows(data), sheet_title=_("问责线索清单"))
    audit_record(
        event="export.accountability",
        actor=request.user,
        request=request,
        detail={"quarter": quarter, "rows": written, "published": data["published"]},
    )
    response = FileResponse(file, content_type=CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="accountability-{quarter}.xlsx"'
    response["Cache-Control"] = "no-store"
    return response
