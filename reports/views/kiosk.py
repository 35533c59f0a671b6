"""Kiosk links for the lobby screen: the office's page to create and revoke them, and the
board behind a link, which needs no session (reports.kiosk)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from appeals.views.access import role_required
from core.db import replica_reads
from core.errors import ServiceError
from departments.roles import Role
from reports.kiosk import (
    KioskRefused,
    kiosk_link_create,
    kiosk_link_for_token,
    kiosk_link_revoke,
    kiosk_links,
    kiosk_token,
)
from reports.models import KioskLink
from reports.views.dashboard import lobby_data_response, lobby_render


@role_required(Role.OFFICE)
def kiosk_list(request):
    """Every link, with the address of each active one to open on a screen."""
    if request.method == "POST":
        try:
            link = kiosk_link_create(
                actor=request.user, label=request.POST.get("label", ""), request=request
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已创建大屏链接：%(label)s。") % {"label": link.label})
        return redirect("kiosk_list")
    links = [
        (
            link,
            request.build_absolute_uri(reverse("kiosk_board", args=[kiosk_token(link)]))
            if link.is_active
            else "",
        )
        for link in kiosk_links()
    ]
    return render(request, "reports/kiosk_list.html", {"links": links})


@role_required(Role.OFFICE)
@require_POST
def kiosk_revoke(request, pk: int):
    link = get_object_or_404(KioskLink, pk=pk)
    try:
        kiosk_link_revoke(actor=request.user, link_id=link.pk, request=request)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已停用大屏链接：%(label)s。") % {"label": link.label})
    return redirect("kiosk_list")


def _link_or_refuse(token: str) -> KioskLink:
    try:
        return kiosk_link_for_token(token)
    except KioskRefused as refused:
        if refused.status == 403:
            raise PermissionDenied from None
        raise Http404 from None


@require_GET
@never_cache
@replica_reads()
def kiosk_board(request, token: str):
    """The lobby screen behind a kiosk link: the board only, read-only, anonymised."""
    _link_or_refuse(token)
    return lobby_render(request, reverse("kiosk_data", args=[token]))


@require_GET
@never_cache
@replica_reads()
def kiosk_data(request, token: str):
    _link_or_refuse(token)
    return lobby_data_response()
