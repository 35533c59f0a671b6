"""The lead pages (phone-friendly): observers file and follow their own leads; the office
checks them. Each view: role, scoped fetch, one service call, render or redirect."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appeals.views.access import role_required
from core.errors import ServiceError
from departments.roles import Role
from leads import forms, services
from leads.actions import lead_actions_for
from leads.models import Lead
from leads.selectors import lead_counts, lead_get_visible, leads_list

PAGE_SIZE = 30
LEAD_ROLES = (Role.SUPERVISOR, Role.OFFICE)


@role_required(*LEAD_ROLES)
def lead_list_view(request):
    status = request.GET.get("status", "")
    page = Paginator(leads_list(request.user, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "leads/lead_list.html",
        {
            "page": page,
            "status": status,
            "statuses": Lead.Status.choices,
            "counts": lead_counts(request.user),
        },
    )


@role_required(Role.SUPERVISOR)
def lead_file_view(request):
    form = forms.LeadFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_file(actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("线索已提交，营商办核查后您可在此查看结果。"))
            return redirect("lead_detail", pk=lead.pk)
    return render(
        request, "leads/lead_form.html", {"form": form}, status=400 if form.errors else 200
    )


def _detail(request, lead: Lead, *, status: int = 200, **bound):
    initial_appeal = {"content": lead.description}
    context = {
        "lead": lead,
        "actions": lead_actions_for(request.user, lead),
        "appeal_form": bound.get("appeal_form") or forms.LeadToAppealForm(initial=initial_appeal),
        "refer_form": bound.get("refer_form") or forms.LeadReferForm(),
        "close_form": bound.get("close_form") or forms.LeadCloseForm(),
    }
    return render(request, "leads/lead_detail.html", context, status=status)


@role_required(*LEAD_ROLES)
def lead_detail_view(request, pk: int):
    return _detail(request, lead_get_visible(request.user, pk))


@role_required(*LEAD_ROLES)
def lead_attachment_view(request, pk: int):
    lead = lead_get_visible(request.user, pk)
    if not lead.attachment:
        raise Http404
    return FileResponse(
        lead.attachment.open("rb"),
        as_attachment=True,
        filename=lead.attachment_name,
        content_type=lead.attachment_type,
    )


def _act(request, pk: int, form_class, key: str, call):
    lead = lead_get_visible(request.user, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            call(lead, form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("线索核查结果已记录。"))
            return redirect("lead_detail", pk=lead.pk)
    return _detail(request, lead, status=400, **{key: form})


@role_required(Role.OFFICE)
@require_POST
def lead_to_appeal_view(request, pk: int):
    return _act(
        request,
        pk,
        forms.LeadToAppealForm,
        "appeal_form",
        lambda lead, data: services.lead_to_appeal(actor=request.user, lead_id=lead.pk, **data),
    )


@role_required(Role.OFFICE)
@require_POST
def lead_refer_view(request, pk: int):
    return _act(
        request,
        pk,
        forms.LeadReferForm,
        "refer_form",
        lambda lead, data: services.lead_refer(actor=request.user, lead_id=lead.pk, **data),
    )


@role_required(Role.OFFICE)
@require_POST
def lead_close_view(request, pk: int):
    return _act(
        request,
        pk,
        forms.LeadCloseForm,
        "close_form",
        lambda lead, data: services.lead_close(actor=request.user, lead_id=lead.pk, **data),
    )
