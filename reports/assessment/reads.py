"""What the assessment pages and API read: a quarter's scores (published and frozen, or a
preview computed now), and the quarters of a year."""

from django.utils import timezone

from reports.assessment.compute import assessment_compute
from reports.league import quarter_bounds
from reports.models import AssessmentResult, AssessmentScheme, LeagueTable


def assessment_quarter(quarter: str) -> dict | None:
    """The quarter's scores: the published ones ({"published": True, …}), else a preview
    computed now for a quarter that has begun, of a year with a scheme (the quarter under way
    counts its work so far); None otherwise."""
    start, _end = quarter_bounds(quarter)
    result = AssessmentResult.objects.filter(quarter=quarter).first()
    if result is not None:
        return {**result.data, "published": True, "published_at": result.published_at}
    scheme = AssessmentScheme.objects.filter(year=start.year).first()
    if scheme is None or start > timezone.localdate():
        return None
    return {**assessment_compute(quarter, scheme), "published": False, "published_at": None}


def assessment_quarters(year: int) -> list[dict]:
    """Each quarter of the year: whether it is over, its league and its scores published."""
    today = timezone.localdate()
    quarters = [f"{year}Q{q}" for q in range(1, 5)]
    published = set(
        AssessmentResult.objects.filter(quarter__in=quarters).values_list("quarter", flat=True)
    )
    leagues = set(
        LeagueTable.objects.filter(quarter__in=quarters).values_list("quarter", flat=True)
    )
    return [
        {
            "quarter": q,
            "over": quarter_bounds(q)[1] < today,
            "begun": quarter_bounds(q)[0] <= today,
            "league_published": q in leagues,
            "published": q in published,
        }
        for q in quarters
    ]
