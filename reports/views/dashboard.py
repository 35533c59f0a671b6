"""The battle map: the office's dashboard, the lobby screen and the list behind each number.
The dashboard and the lobby read the latest snapshot only (reports.boards), never the appeals."""

from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import render

from appeals.filters import AppealFilter
from appeals.selectors import appeals_visible_to
from appeals.views.access import role_required
from core.db import replica_reads
from departments.roles import Role
from reports.boards import (
    BOARD_ROLES,
    board_anonymised_for,
    board_latest,
    board_shown,
    board_trend,
)
from sla.selectors import appeal_ids_where_department_is


@role_required(*BOARD_ROLES)
@replica_reads()
def dashboard_view(request):
    anonymised = board_anonymised_for(request.user)
    snapshot = board_latest()
    return render(
        request,
        "reports/dashboard.html",
        {
            "snapshot": snapshot,
            "board": board_shown(snapshot, anonymised=anonymised),
            "trend": board_trend(),
            "anonymised": anonymised,
        },
    )


@role_required(*BOARD_ROLES)
@replica_reads()
def lobby_view(request):
    """Full screen, large type, refreshes itself (static/js/board.js polls lobby_data)."""
    snapshot = board_latest()
    return render(
        request,
        "reports/lobby.html",
        {"snapshot": snapshot, "board": board_shown(snapshot, anonymised=True)},
    )


@role_required(*BOARD_ROLES)
@replica_reads()
def lobby_data(request):
    snapshot = board_latest()
    return JsonResponse(board_shown(snapshot, anonymised=True) if snapshot else {})


@role_required(Role.OFFICE, Role.LEADER, Role.COMMISSIONER)
@replica_reads()
def board_appeal_list(request):
    """The appeals behind a number on the board, with the board's filters."""
    appeals = (
        appeals_visible_to(request.user)
        .select_related("category__parent", "region", "enterprise")
        .prefetch_related("enterprise__tags")
        .order_by("-filed_at", "-pk")
    )
    filterset = AppealFilter(request.GET, queryset=appeals)
    if not filterset.is_valid():
        return render(request, "reports/appeal_list.html", {"filterset": filterset}, status=400)
    found = filterset.qs
    department, colour = (filterset.form.cleaned_data.get(k) for k in ("department", "colour"))
    if department and colour:
        # A department's bar counts the appeals by that department's own colour on them
        # (reports.boards), not by the appeal's worst: the list behind it does the same.
        rest = request.GET.copy()
        rest.pop("colour")
        found = AppealFilter(rest, queryset=appeals).qs.filter(
            pk__in=appeal_ids_where_department_is(department, colour)
        )
    page = Paginator(found, 25).get_page(request.GET.get("page"))
    return render(request, "reports/appeal_list.html", {"filterset": filterset, "page": page})
