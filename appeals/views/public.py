"""Pages for enterprises and the public: file, receipt, track, rate; my appeals."""

import contextlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appeals import services
from appeals.forms import AppealFileForm, MaterialSupplyForm, RateForm, TrackForm
from appeals.models import Appeal, EventCode, Reply
from appeals.search import open_duplicate_exists
from appeals.selectors import (
    appeal_detail,
    appeal_find_by_code,
    appeals_visible_to,
    my_appeals,
    notification_groups,
    notification_groups_shown,
    replies_published_of,
)
from appeals.services import notify
from appeals.services.filing import ALLOWED_UPLOADS
from appeals.views.access import (
    appeal_for_tracker,
    role_required,
    tracking_grant,
)
from core.errors import ServiceError
from core.params import parse_id
from core.writes import Writes
from departments.roles import STAFF_ROLES, Role, roles_of

RECEIPT_SESSION_KEY = "receipt"
TRACK_FAILURES_LIMIT = 10
TRACK_FAILURES_WINDOW = 15 * 60


def home(request):
    user_roles = roles_of(request.user)
    if user_roles & STAFF_ROLES:
        if user_roles & {Role.COMMISSIONER}:
            return redirect("triage_queue")
        if user_roles & {Role.HANDLER, Role.HEAD}:
            return redirect("inbox")
        if user_roles & {Role.OFFICE, Role.LEADER, Role.SUPERVISOR}:
            return redirect("dashboard")
    return render(request, "appeals/home.html")


def appeal_file(request):
    form = AppealFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            # The receipt is kept with the appeal, in its transaction: a filer is never left
            # with an appeal filed and its query code lost, and the filing commits once (the
            # session middleware then finds nothing left to write). A new session's row is
            # sent with the filing's rows, in their round trip (core.writes).
            with transaction.atomic():
                writes = Writes()
                # The form's fields are the service's arguments, as in the staff's form.
                filed = services.appeal_file(
                    actor=request.user,
                    channel=Appeal.Channel.WEB,
                    writes=writes,
                    **form.cleaned_data,
                )
                tracking_grant(request, filed.appeal)
                request.session[RECEIPT_SESSION_KEY] = {
                    "number": filed.appeal.number,
                    "code": filed.query_code,
                }
                request.session.save_with(writes)
                writes.run()
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("appeal_receipt")
    return render(
        request, "appeals/appeal_form.html", {"form": form}, status=400 if form.errors else 200
    )


def appeal_receipt(request):
    """The receipt shows the query code once: it is removed from the session as it is shown."""
    receipt = request.session.pop(RECEIPT_SESSION_KEY, None)
    if receipt is None:
        messages.info(request, _("回执只显示一次。请凭登记号和查询码查询办理进度。"))
        return redirect("track")
    appeal = get_object_or_404(Appeal, number=receipt["number"])
    response = render(request, "appeals/receipt.html", {"appeal": appeal, "code": receipt["code"]})
    response["Cache-Control"] = "no-store"
    return response


DUPLICATE_CHECKS_LIMIT = 30
DUPLICATE_CHECKS_WINDOW = 10 * 60


def appeal_file_check(request):
    """htmx, from the filing form: does this credit code already have an open appeal on the
    matter of this title? Only a yes or no reaches the page: never the other appeal's number,
    title or filer. Counted per address, so that the check cannot be run down a list of codes
    (past the limit it says nothing)."""
    key = f"file-checks:{request.META.get('REMOTE_ADDR', '')}"
    checks = cache.get(key, 0)
    duplicate = False
    if checks < DUPLICATE_CHECKS_LIMIT:
        cache.set(key, checks + 1, DUPLICATE_CHECKS_WINDOW)
        duplicate = open_duplicate_exists(
            credit_code=request.GET.get("credit_code", "")[:40],
            title=request.GET.get("title", "")[:100],
        )
    return render(request, "appeals/partials/duplicate_check.html", {"duplicate": duplicate})


def _client_key(request) -> str:
    return f"track-failures:{request.META.get('REMOTE_ADDR', '')}"


def _track_attempt_counted(key: str) -> bool:
    """Count an attempt before its code is compared, and say whether it is within the limit.
    One atomic increment in the shared cache (CACHE_URL): requests racing in several processes
    can never all read "9 so far" and be evaluated together. The window runs from the first
    attempt; a successful attempt is taken back."""
    cache.add(key, 0, TRACK_FAILURES_WINDOW)
    try:
        attempts = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, TRACK_FAILURES_WINDOW)
        attempts = 1
    return attempts <= TRACK_FAILURES_LIMIT


def track(request):
    """Tracking by number and query code, sent by POST so the code never appears in a URL.
    A wrong number and a wrong code get the same answer; repeated failures are slowed down."""
    form = TrackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key = _client_key(request)
        if not _track_attempt_counted(key):
            form.add_error(None, _("查询失败次数过多，请15分钟后再试。"))
        else:
            appeal = appeal_find_by_code(form.cleaned_data["number"], form.cleaned_data["code"])
            if appeal is None:
                form.add_error(None, _("登记号或查询码不正确，请核对后重试。"))
            else:
                with contextlib.suppress(ValueError):  # unless the window just ended
                    cache.decr(key)  # only failures count
                tracking_grant(request, appeal)
                return redirect("track_detail", number=appeal.number)
    response = render(
        request, "appeals/track.html", {"form": form}, status=400 if form.errors else 200
    )
    # The code field shows what was typed (it is not masked): never keep the page in a cache.
    response["Cache-Control"] = "no-store"
    return response


def _tracking_context(
    appeal: Appeal, rate_form: RateForm | None = None, supply_form: MaterialSupplyForm | None = None
) -> dict:
    appeal = appeal_detail(appeal)
    published = [r for r in appeal.replies.all() if r.state == Reply.State.PUBLISHED]
    events = [e for e in appeal.events.all() if e.is_public]
    return {
        "appeal": appeal,
        "events": events,
        "material_requests": [e for e in events if e.code == EventCode.MATERIAL_REQUESTED],
        "replies": published,
        # A merged appeal is answered through the appeal it was merged into (一并答复).
        "merged_replies": list(replies_published_of(appeal.merged_into))
        if appeal.merged_into is not None
        else [],
        "rate_form": rate_form or (RateForm() if appeal.status == Appeal.Status.REPLIED else None),
        "supply_form": supply_form
        or (MaterialSupplyForm() if appeal.awaiting_material_since else None),
    }


def track_detail(request, number: str):
    appeal = appeal_for_tracker(request, number)
    return render(request, "appeals/track_detail.html", _tracking_context(appeal))


@require_POST
def track_rate(request, number: str):
    appeal = appeal_for_tracker(request, number)
    form = RateForm(request.POST)
    if form.is_valid():
        try:
            services.appeal_rate(
                actor=request.user,
                appeal_id=appeal.pk,
                score=form.cleaned_data["score"],
                comment=form.cleaned_data["comment"],
                rehandle=form.rehandle,
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("感谢您的评价。"))
            return redirect("track_detail", number=appeal.number)
    return render(request, "appeals/track_detail.html", _tracking_context(appeal, form), status=400)


@role_required(Role.ENTERPRISE)
def my_appeal_list(request):
    page = Paginator(my_appeals(request.user), 20).get_page(request.GET.get("page"))
    return render(request, "appeals/my_appeals.html", {"page": page})


def attachment_download(request, number: str, attachment_id: int):
    """Attachments are served only here, after the same access check as their appeal, always as
    a download (never rendered inline)."""
    appeal = appeals_visible_to(request.user).filter(number=number).first()
    if appeal is None:
        appeal = appeal_for_tracker(request, number)
    attachment = get_object_or_404(appeal.attachments, pk=attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    # The name is cleaned again for rows stored before names were: a line break in it would
    # make the Content-Disposition header (and the response) fail.
    content_type = attachment.content_type
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=services.attachment_name(attachment.original_name),
        content_type=content_type
        if content_type in ALLOWED_UPLOADS
        else "application/octet-stream",
    )
    # An enterprise's licence or a complaint's evidence must not stay in a shared computer's
    # browser cache, or in a proxy's, after the person signs out.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def track_material(request, number: str):
    """The enterprise answers a department's request for more material."""
    appeal = appeal_for_tracker(request, number)
    form = MaterialSupplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.appeal_supply_material(
                actor=request.user, appeal_id=appeal.pk, **form.cleaned_data
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("材料已补充，承办单位将继续办理。"))
            return redirect("track_detail", number=appeal.number)
    return render(
        request,
        "appeals/track_detail.html",
        _tracking_context(appeal, supply_form=form),
        status=400,
    )


@login_required
def notification_list(request):
    """The in-app inbox, one row per appeal and day. Reading it changes nothing (a GET never
    writes); the button marks all read (POST), up to the newest message the page showed."""
    if request.method == "POST":
        notify.notifications_mark_all_read(
            actor=request.user, up_to=parse_id(request.POST.get("up_to"))
        )
        return redirect(request.get_full_path())
    page = Paginator(notification_groups(request.user), 30).get_page(request.GET.get("page"))
    groups = notification_groups_shown(page)
    return render(
        request,
        "appeals/notifications.html",
        {
            "page": page,
            "groups": groups,
            # "Mark all read" reaches up to the newest message, at the top of the first page
            # (the button is offered there, when the top bar's count says any are unread).
            "newest": groups[0]["newest"] if page.number == 1 and groups else None,
        },
    )
