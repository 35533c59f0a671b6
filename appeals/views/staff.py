"""Pages for staff: the commissioner's triage queue, a department's inbox, the review queue,
and the appeal page where every action is taken. Each action view is: scope and fetch, one
service call, redirect — or the same page again with the input kept and the error shown."""

from collections.abc import Callable

from django import forms as django_forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appeals import forms, services
from appeals.actions import (
    Action,
    Allowed,
    appeal_actions_for,
    may_mark_model_answer,
    reply_under_review,
)
from appeals.models import Appeal, Assignment, EnterpriseTag, Reply
from appeals.search import appeals_similar, reply_references
from appeals.selectors import (
    INBOX_TABS,
    appeal_detail,
    department_inbox,
    for_inbox_rows,
    for_triage_rows,
    inbox_counts,
    inbox_rows,
    pending_extensions,
    review_queue,
    triage_queue,
    triage_rows,
)
from appeals.views.access import appeal_for_staff, role_required, staff_required
from core.errors import ServiceError
from core.params import parse_id
from departments.roles import Role
from departments.selectors import (
    RoutingSuggestion,
    active_categories,
    categories_held,
    departments_of,
    regions,
    regions_held,
    routing_suggest,
)

PAGE_SIZE = 25


def _options(objects, chosen: int | None, label: Callable) -> list[dict]:
    """A filter's <option>s as plain values (issue #16: fewer look-ups while rendering)."""
    return [{"pk": o.pk, "label": label(o), "selected": o.pk == chosen} for o in objects]


@role_required(Role.COMMISSIONER, Role.OFFICE)
def triage_queue_view(request):
    filters = {
        "category_id": parse_id(request.GET.get("category")),
        "region_id": parse_id(request.GET.get("region")),
        "tag_id": parse_id(request.GET.get("tag")),
        "search": request.GET.get("q", "").strip()[:50],
    }
    queue = for_triage_rows(triage_queue(request.user, **filters))
    page = Paginator(queue, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "appeals/triage_queue.html",
        {
            "page": page,
            "rows": triage_rows(page),
            "filters": filters,
            "categories": _options(categories_held(), filters["category_id"], str),
            "regions": _options(regions_held(), filters["region_id"], lambda r: r.name),
            "tags": _options(EnterpriseTag.objects.all(), filters["tag_id"], lambda t: t.name),
        },
    )


@role_required(Role.HANDLER, Role.HEAD)
def inbox_view(request):
    departments = departments_of(request.user)
    if not departments:
        return render(request, "appeals/inbox.html", {"departments": []})
    chosen = parse_id(request.GET.get("dept"))
    department = next((d for d in departments if d.pk == chosen), departments[0])
    tab = request.GET.get("tab", "to_sign")
    if tab not in INBOX_TABS:
        tab = "to_sign"
    assignments = for_inbox_rows(
        department_inbox(request.user, department_id=department.pk, tab=tab)
    )
    page = Paginator(assignments, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "appeals/inbox.html",
        {
            "departments": departments,
            "department": department,
            "tab": tab,
            "counts": inbox_counts(request.user, department_id=department.pk),
            "page": page,
            "rows": inbox_rows(page),
        },
    )


@role_required(Role.HEAD, Role.OFFICE)
def review_queue_view(request):
    page = Paginator(review_queue(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    extensions = pending_extensions(request.user)[:50]
    return render(request, "appeals/review_queue.html", {"page": page, "extensions": extensions})


@role_required(Role.COMMISSIONER, Role.OFFICE)
def staff_file_view(request):
    """Staff enter an appeal that arrived by phone, at a meeting, on a visit or by letter."""
    form = forms.StaffFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            filed = services.appeal_file(actor=request.user, **data)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("已登记，登记号 %(n)s，查询码 %(c)s（请告知企业，查询码只显示这一次）。")
                % {"n": filed.appeal.number, "c": filed.query_code},
            )
            return redirect("appeal_detail", number=filed.appeal.number)
    return render(
        request, "appeals/staff_file.html", {"form": form}, status=400 if form.errors else 200
    )


def _route_form(
    appeal: Appeal, category=None, region=None
) -> tuple[forms.RouteForm, RoutingSuggestion]:
    """The routing form, pre-filled with what the routing rules suggest."""
    category = category or appeal.category
    region = region or appeal.region
    suggestion = routing_suggest(category=category, region=region)
    return forms.RouteForm(
        initial={
            "category": category,
            "region": region,
            "lead": suggestion.lead,
            "co_handlers": suggestion.co_handlers,
        }
    ), suggestion


def _draft_after_send_back(replies: list[Reply], assignment_actions) -> dict:
    """The reply a reviewer sent back (退回修改), as the start of the next one: the handler
    revises the text and the outcome chosen, rather than typing them again."""
    for assignment, codes in assignment_actions:
        if Action.REPLY not in codes:
            continue
        own = [r for r in replies if r.assignment_id == assignment.pk]
        latest = max(own, key=lambda r: r.pk, default=None)
        if latest is not None and latest.state == Reply.State.SENT_BACK:
            return {"outcome": latest.outcome, "content": latest.content}
    return {}


def _detail_context(request, appeal: Appeal, bound: dict[str, django_forms.Form]) -> dict:
    """The appeal and the forms of exactly the actions appeal_actions_for allows."""
    appeal = appeal_detail(appeal)
    actions = appeal_actions_for(request.user, appeal)
    offered = {a.code for a in actions if a.on_appeal}
    assignments = list(appeal.assignments.all())
    replies = list(appeal.replies.all())
    route_form, suggestion = _route_form(appeal) if Action.ROUTE in offered else (None, None)
    assignment_actions = [
        (a, codes)
        for a in assignments
        if (codes := {x.code for x in actions if x.assignment == a.pk})
    ]
    context = {
        "appeal": appeal,
        "assignments": assignments,
        "replies": replies,
        "pending_reply": reply_under_review(appeal),
        # Actions on the whole appeal, by code; the others with the object they act on.
        "offered": offered,
        "assignment_actions": assignment_actions,
        # 类案参考: beside each reply form, this department's earlier replies to like appeals.
        "references": {
            a.pk: reply_references(a) for a, codes in assignment_actions if Action.REPLY in codes
        },
        "may_mark_model_answer": may_mark_model_answer(request.user),
        "reviews": [r for r in replies if Allowed(Action.REVIEW, reply=r.pk) in actions],
        "extension_decisions": [
            e
            for e in appeal.extensions.all()
            if Allowed(Action.DECIDE_EXTENSION, extension=e.pk) in actions
        ],
        "suggestion": suggestion,
        # At triage, the appeals most like this one, each mergeable with one click.
        "similar": (
            appeals_similar(request.user, appeal, now=timezone.now())
            if Action.MERGE in offered
            else []
        ),
        "route_form": route_form,
        "decline_form": forms.DeclineForm(),
        "merge_form": forms.MergeForm(),
        "return_form": forms.ReturnForm(),
        "opinion_form": forms.OpinionForm(),
        "reply_form": forms.ReplyForm(initial=_draft_after_send_back(replies, assignment_actions)),
        "review_form": forms.ReviewForm(),
        "close_form": forms.CloseForm(),
        "followup_form": forms.FollowUpForm(),
        "material_form": forms.MaterialRequestForm(),
        "extension_form": forms.ExtensionRequestForm(),
        "extension_decision_form": forms.ExtensionDecisionForm(),
        "block_form": forms.BlockForm(),
    }
    context.update(bound)
    return context


def _render_detail(request, appeal: Appeal, bound: dict | None = None, status: int = 200):
    return render(
        request,
        "appeals/appeal_detail.html",
        _detail_context(request, appeal, bound or {}),
        status=status,
    )


@staff_required
def appeal_detail_view(request, number: str):
    return _render_detail(request, appeal_for_staff(request, number))


@staff_required
@require_POST
def contact_reveal_view(request, number: str):
    """The full contact name and phone number, for those who handle the appeal; audited.
    htmx swaps the masked values for the partial; without JavaScript the page comes back."""
    appeal = appeal_for_staff(request, number)
    try:
        contact = services.contact_reveal(actor=request.user, appeal=appeal, request=request)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return _render_detail(request, appeal, status=403)
    if request.headers.get("HX-Request"):
        return render(request, "appeals/partials/contact_full.html", {"contact": contact})
    return _render_detail(request, appeal, {"revealed_contact": contact})


@role_required(Role.COMMISSIONER, Role.OFFICE)
def route_form_partial(request, number: str):
    """htmx: the routing form again, with the suggestion for the category and region chosen."""
    appeal = appeal_for_staff(request, number)
    category = active_categories().filter(pk=parse_id(request.GET.get("category"))).first()
    region = regions().filter(pk=parse_id(request.GET.get("region"))).first()
    route_form, suggestion = _route_form(appeal, category, region)
    return render(
        request,
        "appeals/partials/route_form.html",
        {"appeal": appeal, "route_form": route_form, "suggestion": suggestion},
    )


def _act(
    request,
    appeal: Appeal,
    form_name: str,
    form: django_forms.Form,
    call: Callable[[dict], object],
    done: str,
):
    """Validate the form, call the service, and go back to the appeal; on a refusal show the
    same page with the input kept and the reason in Chinese."""
    if form.is_valid():
        try:
            call(form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, exc.message)
            messages.error(request, _("操作未完成：%(reason)s") % {"reason": exc.message})
        else:
            messages.success(request, done)
            return redirect("appeal_detail", number=appeal.number)
    else:
        messages.error(request, _("操作未完成，请查看下方提示。"))
    return _render_detail(request, appeal, {form_name: form}, status=400)


def _assignment_of(appeal: Appeal, assignment_id: int) -> Assignment:
    """A child object must belong to the appeal in the URL."""
    return get_object_or_404(appeal.assignments, pk=assignment_id)


@staff_required
@require_POST
def appeal_route_view(request, number: str):
    appeal = appeal_for_staff(request, number)
    return _act(
        request,
        appeal,
        "route_form",
        forms.RouteForm(request.POST),
        lambda d: services.appeal_route(actor=request.user, appeal_id=appeal.pk, **d),
        _("已交办。"),
    )


@staff_required
@require_POST
def appeal_decline_view(request, number: str):
    appeal = appeal_for_staff(request, number)
    return _act(
        request,
        appeal,
        "decline_form",
        forms.DeclineForm(request.POST),
        lambda d: services.appeal_decline(actor=request.user, appeal_id=appeal.pk, **d),
        _("已办结并告知企业。"),
    )


@staff_required
@require_POST
def appeal_merge_view(request, number: str):
    appeal = appeal_for_staff(request, number)
    return _act(
        request,
        appeal,
        "merge_form",
        forms.MergeForm(request.POST),
        lambda d: services.appeal_merge(actor=request.user, appeal_id=appeal.pk, **d),
        _("已并案。"),
    )


@staff_required
@require_POST
def assignment_sign_view(request, number: str, assignment_id: int):
    appeal = appeal_for_staff(request, number)
    assignment = _assignment_of(appeal, assignment_id)
    return _act(
        request,
        appeal,
        "sign_form",
        django_forms.Form(request.POST),
        lambda d: services.assignment_sign(actor=request.user, assignment_id=assignment.pk),
        _("已签收。"),
    )


@staff_required
@require_POST
def assignment_return_view(request, number: str, assignment_id: int):
    appeal = appeal_for_staff(request, number)
    assignment = _assignment_of(appeal, assignment_id)
    return _act(
        request,
        appeal,
        "return_form",
        forms.ReturnForm(request.POST),
        lambda d: services.assignment_return(actor=request.user, assignment_id=assignment.pk, **d),
        _("已退回。"),
    )


@staff_required
@require_POST
def opinion_submit_view(request, number: str, assignment_id: int):
    appeal = appeal_for_staff(request, number)
    assignment = _assignment_of(appeal, assignment_id)
    return _act(
        request,
        appeal,
        "opinion_form",
        forms.OpinionForm(request.POST),
        lambda d: services.opinion_submit(actor=request.user, assignment_id=assignment.pk, **d),
        _("配合意见已提交牵头单位。"),
    )


@staff_required
@require_POST
def reply_submit_view(request, number: str, assignment_id: int):
    appeal = appeal_for_staff(request, number)
    assignment = _assignment_of(appeal, assignment_id)
    return _act(
        request,
        appeal,
        "reply_form",
        forms.ReplyForm(request.POST),
        lambda d: services.reply_submit(actor=request.user, assignment_id=assignment.pk, **d),
        _("办理反馈已提交。"),
    )


@staff_required
@require_POST
def reply_review_view(request, number: str, reply_id: int):
    appeal = appeal_for_staff(request, number)
    reply = get_object_or_404(appeal.replies, pk=reply_id)
    return _act(
        request,
        appeal,
        "review_form",
        forms.ReviewForm(request.POST),
        lambda d: services.reply_review(
            actor=request.user,
            reply_id=reply.pk,
            approve=d["decision"] == "approve",
            note=d["note"],
        ),
        _("审核意见已提交。"),
    )


@staff_required
@require_POST
def appeal_close_view(request, number: str):
    appeal = appeal_for_staff(request, number)
    return _act(
        request,
        appeal,
        "close_form",
        forms.CloseForm(request.POST),
        lambda d: services.appeal_close(actor=request.user, appeal_id=appeal.pk, **d),
        _("已销号。"),
    )


@staff_required
@require_POST
def followup_record_view(request, number: str):
    appeal = appeal_for_staff(request, number)
    return _act(
        request,
        appeal,
        "followup_form",
        forms.FollowUpForm(request.POST),
        lambda d: services.followup_record(actor=request.user, appeal_id=appeal.pk, **d),
        _("回访记录已保存。"),
    )


@staff_required
@require_POST
def material_request_view(request, number: str, assignment_id: int):
    appeal = appeal_for_staff(request, number)
    assignment = _assignment_of(appeal, assignment_id)
    return _act(
        request,
        appeal,
        "material_form",
        forms.MaterialRequestForm(request.POST),
        lambda d: services.appeal_request_material(
            actor=request.user, assignment_id=assignment.pk, **d
        ),
        _("已请企业补充材料，时限暂停计时。"),
    )


@staff_required
@require_POST
def extension_request_view(request, number: str, assignment_id: int):
    appeal = appeal_for_staff(request, number)
    assignment = _assignment_of(appeal, assignment_id)
    return _act(
        request,
        appeal,
        "extension_form",
        forms.ExtensionRequestForm(request.POST),
        lambda d: services.extension_request(actor=request.user, assignment_id=assignment.pk, **d),
        _("延期申请已提交营商办。"),
    )


@staff_required
@require_POST
def extension_decide_view(request, number: str, extension_id: int):
    appeal = appeal_for_staff(request, number)
    extension = get_object_or_404(appeal.extensions, pk=extension_id)
    return _act(
        request,
        appeal,
        "extension_decision_form",
        forms.ExtensionDecisionForm(request.POST),
        lambda d: services.extension_decide(
            actor=request.user,
            extension_id=extension.pk,
            approve=d["decision"] == "approve",
            note=d["note"],
        ),
        _("延期申请已审批。"),
    )


@staff_required
@require_POST
def appeal_block_view(request, number: str):
    appeal = appeal_for_staff(request, number)
    return _act(
        request,
        appeal,
        "block_form",
        forms.BlockForm(request.POST),
        lambda d: services.appeal_flag_blocked(
            actor=request.user, appeal_id=appeal.pk, blocked=d["blocked"], reason=d["reason"]
        ),
        _("已更新受阻标记。"),
    )


@role_required(Role.OFFICE)
@require_POST
def appeal_publicise_view(request, number: str):
    appeal = appeal_for_staff(request, number)
    return _act(
        request,
        appeal,
        "publicise_form",
        django_forms.Form(request.POST),
        lambda d: services.appeal_publicise(
            actor=request.user, appeal_id=appeal.pk, public=request.POST.get("public") == "1"
        ),
        _("已更新张榜公示。"),
    )


@role_required(Role.OFFICE)
@require_POST
def reply_model_answer_view(request, number: str, reply_id: int):
    appeal = appeal_for_staff(request, number)
    reply = get_object_or_404(appeal.replies, pk=reply_id)
    model = request.POST.get("model") == "1"
    return _act(
        request,
        appeal,
        "model_answer_form",
        django_forms.Form(request.POST),
        lambda d: services.reply_mark_model_answer(
            actor=request.user, reply_id=reply.pk, model=model
        ),
        _("已设为示范答复。") if model else _("已取消示范答复。"),
    )
