"""The battle map: the office's dashboard, the lobby screen and the list behind each number.
The dashboard and the lobby read the latest snapshot only (reports.boards), never the appeals."""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.filters import AppealFilter
from appeals.models import Appeal
from appeals.selectors import appeals_visible_to
from appeals.views.access import role_required
from core.db import replica_reads
from departments.models import Category, Department, Region
from departments.roles import Role, has_role
from reports import exports
from reports.boards import (
    BOARD_ROLES,
    board_anonymised_for,
    board_latest,
    board_shown,
    board_trend_of,
)
from reports.kiosk import STALE_AFTER
from reports.views.exports import list_download_urls


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
            "trend": board_trend_of(snapshot),
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
    """The appeals behind a number on the board, with the board's filters: the page says which
    filters it shows, and offers the export of exactly this list (the full list's columns)."""
    appeals = (
        appeals_visible_to(request.user)
        .select_related("category__parent", "region", "enterprise")
        .prefetch_related("enterprise__tags")
        .order_by("-filed_at", "-pk")
    )
    filterset = AppealFilter(request.GET, queryset=appeals)
    if not filterset.is_valid():
        return render(request, "reports/appeal_list.html", {"filterset": filterset}, status=400)
    # A department's bar counts the appeals by that department's own colour on them
    # (reports.boards), not by the appeal's worst: the list behind it, and its export, too.
    found = exports.appeals_filtered(appeals, request.GET)
    page = Paginator(found, 25).get_page(request.GET.get("page"))
    may_export = has_role(request.user, Role.OFFICE, Role.LEADER)
    return render(
        request,
        "reports/appeal_list.html",
        {
            "filterset": filterset,
            "page": page,
            "shown": _filters_shown(filterset.form.cleaned_data),
            "downloads": list_download_urls(request.GET) if may_export else [],
            "inline": page.paginator.count <= settings.EXPORT_INLINE_MAX_ROWS,
        },
    )


def _filters_shown(data: dict) -> list[tuple[str, str]]:
    """The filters of the list in words, as (name, value), for the heading of the page."""
    shown: list[tuple[str, str]] = []
    statuses = data.get("status") or []
    if set(statuses) == set(Appeal.OPEN_STATUSES):
        shown.append((_("状态"), _("在办")))
    elif statuses:
        labels = dict(Appeal.Status.choices)
        shown.append((_("状态"), _("、").join(str(labels[s]) for s in statuses)))
    if data.get("colour"):
        colours = dict(Appeal._meta.get_field("colour").choices)
        shown.append((_("颜色"), str(colours[data["colour"]])))
    if data.get("department"):
        department = Department.objects.filter(pk=data["department"]).first()
        name = department.name if department else str(data["department"])
        if data.get("colour"):
            name = _("%(name)s（按本单位时限）") % {"name": name}
        shown.append((_("承办单位"), name))
    if data.get("category"):
        category = Category.objects.filter(pk=data["category"]).first()
        shown.append((_("分类"), category.name if category else str(data["category"])))
    if data.get("region"):
        region = Region.objects.filter(pk=data["region"]).first()
        shown.append((_("区划"), region.name if region else str(data["region"])))
    for key, label in (("channel", _("来源渠道")), ("priority", _("紧急程度"))):
        if data.get(key):
            field = Appeal._meta.get_field(key)
            shown.append((label, str(dict(field.choices)[data[key]])))
    if data.get("filed_after") or data.get("filed_before"):
        start = data.get("filed_after")
        end = data.get("filed_before")
        shown.append(
            (
                _("登记日期"),
                f"{start.isoformat() if start else '…'} — {end.isoformat() if end else '…'}",
            )
        )
    return shown
