"""The bulletin as a printable page and as a spreadsheet, built by a task (reports.jobs): its
rates read a whole period of appeals, which at a province's scale takes longer than a request
should."""

from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from appeals.views.access import role_required
from core.db import replica_reads
from core.errors import ServiceError
from departments.roles import Role
from reports import jobs
from reports.bulletin import bulletin_compute, period_bounds
from reports.league import quarter_of
from reports.models import ExportJob


def _period(request) -> str:
    params = request.POST if request.method == "POST" else request.GET
    return params.get("period") or quarter_of(timezone.localdate())


@role_required(Role.OFFICE, Role.LEADER)
@replica_reads()
def bulletin_view(request):
    try:
        bulletin = bulletin_compute(_period(request), today=timezone.localdate())
    except ServiceError as exc:
        return render(request, "reports/bulletin.html", {"error": exc.message}, status=400)
    return render(request, "reports/bulletin.html", {"bulletin": bulletin})


@role_required(Role.OFFICE, Role.LEADER)
@require_POST
def bulletin_xlsx(request):
    period = _period(request)
    try:
        period_bounds(period)
    except ServiceError:
        # The same message as the page's, from the same check.
        return bulletin_view(request)
    job = jobs.export_job_request(
        user=request.user,
        kind=ExportJob.Kind.BULLETIN,
        fmt=ExportJob.Format.XLSX,
        filters={"period": period},
    )
    return redirect("export_job", pk=job.pk)
