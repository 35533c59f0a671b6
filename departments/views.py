"""The office's staff pages: list the staff, create an account with its first role, grant and
revoke roles (department memberships included), deactivate. Each write is one service call in
departments.services, which checks who may manage whom (staff_manageable) and audits it; never
superuser, staff status, groups or raw permissions, which stay with a superuser in the admin."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import ServiceError
from core.params import parse_id
from departments import services
from departments.forms import RoleForm, StaffCreateForm
from departments.roles import GROUP_ROLES, ROLE_LABELS, Role, has_role
from departments.selectors import department_by_id, staff_accounts, staff_audit_records

PAGE_SIZE = 50


def office_required(view):
    """Log in first; then the office (or a superuser), or 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not has_role(request.user, Role.OFFICE):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _group_roles(account) -> list[tuple[str, str]]:
    """(role, label) of the account's roles held through a group (from its prefetched groups)."""
    names = {g.name for g in account.groups.all()}
    return [(r.value, str(ROLE_LABELS[r])) for r in GROUP_ROLES if r.value in names]


def _account_for_office(request, user_id: int):
    """A staff account the office may see (never an enterprise account), or 404."""
    account = staff_accounts().filter(pk=user_id).first()
    if account is None:
        raise Http404
    return account


@office_required
def staff_list_view(request):
    search = request.GET.get("q", "").strip()[:50]
    page = Paginator(staff_accounts(search=search), PAGE_SIZE).get_page(request.GET.get("page"))
    for account in page:
        account.group_roles = _group_roles(account)
    return render(request, "departments/staff_list.html", {"page": page, "q": search})


@office_required
def staff_create_view(request):
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = services.staff_create(actor=request.user, **data)
        except ServiceError as exc:
            form.add_error(exc.field or None, exc.message)
        else:
            messages.success(request, _("账号已创建。"))
            return redirect("staff_detail", user_id=account.pk)
    return render(
        request, "departments/staff_form.html", {"form": form}, status=400 if form.errors else 200
    )


def _detail(request, account, *, role_form=None, status=200):
    return render(
        request,
        "departments/staff_detail.html",
        {
            "account": account,
            "manageable": services.staff_manageable(request.user, account),
            "role_form": role_form or RoleForm(),
            "group_roles": _group_roles(account),
            "records": staff_audit_records(account),
        },
        status=status,
    )


@office_required
def staff_detail_view(request, user_id: int):
    return _detail(request, _account_for_office(request, user_id))


@office_required
@require_POST
def staff_role_grant_view(request, user_id: int):
    account = _account_for_office(request, user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _detail(request, account, role_form=form, status=400)
    try:
        services.staff_role_grant(actor=request.user, user=account, **form.cleaned_data)
    except ServiceError as exc:
        if exc.status == 403:
            raise PermissionDenied from None
        form.add_error(exc.field or None, exc.message)
        return _detail(request, account, role_form=form, status=400)
    messages.success(request, _("已授予角色。"))
    return redirect("staff_detail", user_id=account.pk)


@office_required
@require_POST
def staff_role_revoke_view(request, user_id: int):
    account = _account_for_office(request, user_id)
    department = department_by_id(parse_id(request.POST.get("department")))
    try:
        services.staff_role_revoke(
            actor=request.user,
            user=account,
            role=request.POST.get("role", ""),
            department=department,
        )
    except ServiceError as exc:
        if exc.status == 403:
            raise PermissionDenied from None
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已撤销角色。"))
    return redirect("staff_detail", user_id=account.pk)


@office_required
@require_POST
def staff_deactivate_view(request, user_id: int):
    account = _account_for_office(request, user_id)
    try:
        services.staff_deactivate(actor=request.user, user=account)
    except ServiceError as exc:
        if exc.status == 403:
            raise PermissionDenied from None
        messages.error(request, exc.message)
    else:
        messages.success(request, _("账号已停用。"))
    return redirect("staff_detail", user_id=account.pk)
