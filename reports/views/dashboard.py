"""The battle map: the office's dashboard, the lobby screen and the list behind each number.
The dashboard and the lobby read the latest snapshot only (reports.boards), never the appeals."""

from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

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
from reports.kiosk import STALE_AFTER
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


def lobby_render(request, data_url: str):
    """The lobby screen: full screen, large type, refreshes itself (static/js/board.js polls
    `data_url`), anonymised for everyone. Its "updated" time turns red once the snapshot is
    older than reports.kiosk.STALE_AFTER."""
    snapshot = board_latest()
    now = timezone.now()
    return render(
        request,
        "reports/lobby.html",
        {
            "snapshot": snapshot,
            "board": board_shown(snapshot, anonymised=True),
            "data_url": data_url,
            "stale_after": int(STALE_AFTER.total_seconds()),
            "taken_at": snapshot.taken_at.isoformat() if snapshot else "",
            "served_at": now.isoformat(),
            "stale": snapshot is None or now - snapshot.taken_at > STALE_AFTER,
        },
    )


def lobby_data_response() -> JsonResponse:
    """The lobby's figures, with the server's time: the screen measures the snapshot's age
    on the server's clock, not on its own."""
    snapshot = board_latest()
    if snapshot is None:
        return JsonResponse({})
    return JsonResponse(
        {**board_shown(snapshot, anonymised=True), "served_at": timezone.now().isoformat()}
    )


@role_required(*BOARD_ROLES)
@replica_reads()
def lobby_view(request):
    return lobby_render(request, reverse("lobby_data"))


@role_required(*BOARD_ROLES)
@replica_reads()
def lobby_data(request):
    return lobby_data_response()


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
