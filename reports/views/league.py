"""The quarterly league tables and the public board (张榜公示)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appeals.selectors import public_board_appeals
from appeals.views.access import role_required
from core.db import replica_reads
from core.errors import ServiceError
from departments.roles import Role, has_role
from reports.boards import BOARD_ROLES
from reports.league import league_compute, league_publish, quarter_of
from reports.models import LeagueTable


def _previous_quarter(today) -> str:
    year, q = today.year, (today.month - 1) // 3 + 1
    return f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"


@role_required(*BOARD_ROLES)
@replica_reads()
def league_view(request):
    today = timezone.localdate()
    candidate = _previous_quarter(today)
    published = list(LeagueTable.objects.all()[:8])
    preview = None
    if not any(t.quarter == candidate for t in published):
        preview = league_compute(candidate)
    return render(
        request,
        "reports/league.html",
        {
            "published": published,
            "current": league_compute(quarter_of(today)),
            "preview": preview,
            "candidate": candidate,
            "can_publish": has_role(request.user, Role.OFFICE),
        },
    )


@role_required(Role.OFFICE)
@require_POST
def league_publish_view(request):
    try:
        league_publish(actor=request.user, quarter=request.POST.get("quarter", ""))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("红黑榜已发布。"))
    return redirect("league")


@replica_reads()
def public_board(request):
    """Open to everyone: the appeals the office chose, with colour and progress, and no
    personal data (no enterprise, no contact, no content)."""
    return render(request, "reports/public_board.html", {"appeals": public_board_appeals()})
