"""The bulletin as a printable page and as a spreadsheet."""

import tempfile

from django.http import FileResponse
from django.shortcuts import render
from django.utils import timezone
from openpyxl import Workbook

from appeals.views.access import role_required
from core.errors import ServiceError
from departments.roles import Role
from reports.bulletin import bulletin_compute, bulletin_rows
from reports.exports import neutralise
from reports.league import quarter_of


def _bulletin(request):
    today = timezone.localdate()
    period = request.GET.get("period") or quarter_of(today)
    return bulletin_compute(period, today=today)


@role_required(Role.OFFICE, Role.LEADER)
def bulletin_view(request):
    try:
        bulletin = _bulletin(request)
    except ServiceError as exc:
        return render(request, "reports/bulletin.html", {"error": exc.message}, status=400)
    return render(request, "reports/bulletin.html", {"bulletin": bulletin})


@role_required(Role.OFFICE, Role.LEADER)
def bulletin_xlsx(request):
    try:
        bulletin = _bulletin(request)
    except ServiceError as exc:
        return render(request, "reports/bulletin.html", {"error": exc.message}, status=400)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="分单位")
    for row in bulletin_rows(bulletin):
        sheet.append([neutralise(cell) if isinstance(cell, str) else cell for cell in row])
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
    workbook.save(handle)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"诉求办理通报-{bulletin['period']}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
