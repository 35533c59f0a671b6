"""Pages for meetings, grids, contacts and coverage. Each view: scope and fetch (the
selectors), one service call, redirect — or the same page again with what was typed kept and
the errors shown."""

import uuid
from io import BytesIO

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.views.access import role_required
from core.errors import ServiceError
from core.params import parse_id
from departments.audit import audit_record
from departments.roles import STAFF_ROLES, Role
from engagement import forms, services
from engagement.actions import (
    BATCH_MAX_ROWS,
    check_closing_report,
    may_enter_meeting_appeals,
    may_raise_from_contact,
    may_read_closing_report,
    may_schedule_some_meeting,
)
from engagement.report import closing_report_xlsx
from engagement.selectors import (
    COVERAGE_DEFAULT_DAYS,
    contact_get_visible,
    contacts_visible_to,
    coverage,
    grid_enterprises,
    grid_get_visible,
    grid_list,
    meeting_appeals_for,
    meeting_get_visible,
    meeting_list,
    meeting_tally,
    report_rows,
)

staff_required = role_required(*STAFF_ROLES)
grid_roles_required = role_required(Role.OFFICE, Role.LEADER, Role.COMMISSIONER)


# --- Meetings ----------------------------------------------------------------------------


@staff_required
def meeting_list_view(request):
    return render(
        request,
        "engagement/meeting_list.html",
        {
            "meetings": meeting_list(request.user)[:200],
            "may_schedule": may_schedule_some_meeting(request.user),
        },
    )


@staff_required
def meeting_new_view(request):
    if not may_schedule_some_meeting(request.user):
        raise PermissionDenied
    form = forms.MeetingForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_schedule(actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("会议已登记。"))
            return redirect("meeting_detail", pk=meeting.pk)
    return render(
        request,
        "engagement/meeting_form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@staff_required
def meeting_detail_view(request, pk: int):
    meeting = meeting_get_visible(request.user, pk)
    rows = meeting_appeals_for(request.user, meeting)
    return render(
        request,
        "engagement/meeting_detail.html",
        {
            "meeting": meeting,
            "rows": rows,
            "tally": meeting_tally(rows),
            "may_enter": may_enter_meeting_appeals(request.user),
            "may_report": may_read_closing_report(request.user),
        },
    )


def _row_input(form) -> services.MeetingRow:
    data = form.cleaned_data if form.is_valid() else {}
    enterprise, category, lead = (data.get(k) for k in ("enterprise", "category", "proposed_lead"))
    return services.MeetingRow(
        enterprise_id=enterprise.pk if enterprise else None,
        category_id=category.pk if category else None,
        proposed_lead_id=lead.pk if lead else None,
        title=data.get("title", ""),
        content=data.get("content", ""),
    )


def _blank_rows(asked: str | None) -> int:
    rows = parse_id(asked) or forms.BATCH_BLANK_ROWS
    return min(rows, BATCH_MAX_ROWS)


@role_required(Role.OFFICE, Role.COMMISSIONER)
def meeting_batch_view(request, pk: int):
    """The fast table: one line per appeal raised. All lines are registered together or, if
    any is refused, none: the table comes back with every line as typed and each bad line's
    errors under it."""
    meeting = meeting_get_visible(request.user, pk)
    # A refused batch keeps its key: the same table, corrected, is still one batch.
    batch_key = request.POST.get("batch_key", "")[:40] or uuid.uuid4().hex
    if request.method == "POST":
        formset = forms.MeetingRowFormSet(
            request.POST, form_kwargs={"meeting": meeting}, prefix="rows"
        )
        if formset.is_valid():
            try:
                filed = services.meeting_appeals_enter(
                    actor=request.user,
                    meeting_id=meeting.pk,
                    rows=[_row_input(form) for form in formset.forms],
                    batch_key=batch_key,
                )
            except services.BatchRefused as refused:
                for index, errors in refused.rows.items():
                    for field, message in errors:
                        target = field if field in formset.forms[index].fields else None
                        formset.forms[index].add_error(target, message)
                messages.error(request, refused.message)
            except ServiceError as exc:
                if exc.code == "batch_already_entered":
                    messages.info(request, exc.message)
                    return redirect("meeting_detail", pk=meeting.pk)
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    _("已登记 %(n)d 件诉求：%(numbers)s。")
                    % {"n": len(filed), "numbers": _("、").join(f.appeal.number for f in filed)},
                )
                return redirect("meeting_detail", pk=meeting.pk)
        status = 400
    else:
        formset = forms.MeetingRowFormSet(
            form_kwargs={"meeting": meeting},
            prefix="rows",
            initial=[{}] * _blank_rows(request.GET.get("rows")),
        )
        status = 200
    return render(
        request,
        "engagement/meeting_batch.html",
        {"meeting": meeting, "formset": formset, "batch_key": batch_key},
        status=status,
    )


def _closing_report(request, pk: int):
    """The meeting and its report lines, for those who may read the report, once every
    appeal of the meeting has ended; otherwise back to the meeting page with the reason."""
    if not may_read_closing_report(request.user):
        raise PermissionDenied
    meeting = meeting_get_visible(request.user, pk)
    rows = meeting_appeals_for(request.user, meeting)
    tally = meeting_tally(rows)
    check_closing_report(tally.open, tally.total)
    return meeting, tally, report_rows(rows)


@staff_required
def meeting_report_view(request, pk: int):
    try:
        meeting, tally, lines = _closing_report(request, pk)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("meeting_detail", pk=pk)
    return render(
        request,
        "engagement/meeting_report.html",
        {"meeting": meeting, "tally": tally, "lines": lines, "today": timezone.localdate()},
    )


@staff_required
def meeting_report_xlsx_view(request, pk: int):
    try:
        meeting, _tally, lines = _closing_report(request, pk)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("meeting_detail", pk=pk)
    content = closing_report_xlsx(meeting, lines)
    # An export of enterprises' names and appeals, audited as the reports' exports are.
    audit_record(event="export.meeting_report", actor=request.user, obj=meeting, request=request)
    return FileResponse(
        BytesIO(content),
        as_attachment=True,
        filename=f"meeting-{meeting.pk}-report.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# --- Grids and contacts ------------------------------------------------------------------


@grid_roles_required
def grid_list_view(request):
    return render(
        request,
        "engagement/grid_list.html",
        {
            "grids": grid_list(request.user),
            "contacts": contacts_visible_to(request.user)[:20],
        },
    )


@grid_roles_required
def grid_detail_view(request, pk: int):
    grid = grid_get_visible(request.user, pk)
    return render(
        request,
        "engagement/grid_detail.html",
        {"grid": grid, "enterprises": grid_enterprises(grid)},
    )


@role_required(Role.COMMISSIONER)
def contact_new_view(request):
    initial = {"contacted_on": timezone.localdate(), "enterprise": request.GET.get("enterprise")}
    form = forms.ContactForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contact = services.contact_log(
                actor=request.user,
                enterprise_id=data["enterprise"].pk,
                kind=data["kind"],
                contacted_on=data["contacted_on"],
                summary=data["summary"],
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("对接记录已保存。"))
            return redirect("contact_detail", pk=contact.pk)
    return render(
        request,
        "engagement/contact_form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@grid_roles_required
def contact_detail_view(request, pk: int):
    contact = contact_get_visible(request.user, pk)
    may_raise = may_raise_from_contact(request.user, contact) and contact.appeal_id is None
    form = None
    if may_raise:
        form = forms.RaiseAppealForm(request.POST or None, initial={"content": contact.summary})
        if request.method == "POST" and form.is_valid():
            try:
                filed = services.contact_raise_appeal(
                    actor=request.user, contact_id=contact.pk, **form.cleaned_data
                )
            except ServiceError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("已登记，登记号 %(n)s，查询码 %(c)s（请告知企业，查询码只显示这一次）。")
                    % {"n": filed.appeal.number, "c": filed.query_code},
                )
                return redirect("appeal_detail", number=filed.appeal.number)
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "engagement/contact_detail.html",
        {"contact": contact, "form": form},
        status=400 if form is not None and form.errors else 200,
    )


@grid_roles_required
def coverage_view(request):
    form = forms.CoverageForm(request.GET or {"days": COVERAGE_DEFAULT_DAYS})
    days = form.cleaned_data["days"] if form.is_valid() else COVERAGE_DEFAULT_DAYS
    return render(
        request,
        "engagement/coverage.html",
        {
            "form": form,
            "coverage": coverage(request.user, days=days, today=timezone.localdate()),
        },
        status=200 if form.is_valid() else 400,
    )
