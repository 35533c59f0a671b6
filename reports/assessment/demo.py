"""The demo's assessment (appeals.demo.hooks): the default scheme for each year the demo's
weeks fall in; a finished quarter gets its league table and its scores published, the quarter
under way shows its scores so far as a preview."""

from contextlib import suppress
from datetime import timedelta

from django.utils import timezone

from core.errors import ServiceError
from reports.assessment.publishing import assessment_publish, assessment_scheme_define
from reports.assessment.scheme import DEFAULT_SCHEME
from reports.league import league_publish, quarter_bounds, quarter_of
from reports.models import AssessmentResult, LeagueTable

DEMO_DAYS = 60  # how far back appeals.demo simulates


def assessment_demo_build(sender, *, city, limit, out, **kwargs):
    today = timezone.localdate(limit)
    quarters = sorted({quarter_of(today - timedelta(days=d)) for d in (0, DEMO_DAYS)})
    for year in sorted({int(q[:4]) for q in quarters}):
        # A year with published quarters keeps its scheme.
        with suppress(ServiceError):
            assessment_scheme_define(actor=city.office, year=year, indicators=DEFAULT_SCHEME)
    for quarter in quarters:
        if quarter_bounds(quarter)[1] >= today:
            out.write(f"综合考核：{quarter} 进行中，得分预览见 /board/assessment/{quarter}/。")
            continue
        try:
            if not LeagueTable.objects.filter(quarter=quarter).exists():
                league_publish(actor=city.office, quarter=quarter)
            if not AssessmentResult.objects.filter(quarter=quarter).exists():
                assessment_publish(actor=city.office, quarter=quarter)
            out.write(f"综合考核：{quarter} 得分已发布。")
        except ServiceError as exc:
            out.write(f"综合考核：{quarter} 未发布（{exc.message}）。")
