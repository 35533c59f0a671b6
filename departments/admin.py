from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.errors import ServiceError
from departments.audit import audit_record, model_snapshot, snapshot_diff
from departments.models import (
    ApiToken,
    AuditRecord,
    Category,
    Department,
    Membership,
    Region,
    RoutingRule,
)
from departments.roles import ROLE_LABELS, Role
from departments.services import membership_add, membership_remove
from departments.tokens import api_token_issue, api_token_revoke


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that change only through the services (or never): the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedAdminMixin:
    """Each configuration change made in the admin leaves an audit record — `<model>.created`,
    `.changed` or `.deleted`, with before → after of the changed fields (many-to-many
    included) — in the admin's own transaction. Inline rows are audited the same way, except
    those whose formset says `audited_by_service` (their service writes its own record)."""

    def _audit(self, request, verb: str, obj, before: dict | None, after: dict | None) -> None:
        changes = snapshot_diff(before, after)
        if verb == "changed" and not changes:
            return  # saved without a change: nothing happened
        audit_record(
            event=f"{obj._meta.model_name}.{verb}",
            actor=request.user,
            obj=obj,
            request=request,
            detail={"changes": changes},
        )

    @staticmethod
    def _stored(obj) -> dict | None:
        """The object as the database holds it (the form has already changed `obj` itself)."""
        stored = type(obj)._default_manager.filter(pk=obj.pk).first()
        return model_snapshot(stored) if stored is not None else None

    def save_model(self, request, obj, form, change):
        obj._audit_before = self._stored(obj) if change and obj.pk else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # After the many-to-many fields and the inlines are saved: the "after" is complete.
        super().save_related(request, form, formsets, change)
        obj = form.instance
        before = getattr(obj, "_audit_before", None)
        self._audit(request, "changed" if change else "created", obj, before, model_snapshot(obj))

    def save_formset(self, request, form, formset, change):
        if getattr(formset, "audited_by_service", False):
            return super().save_formset(request, form, formset, change)
        # id(instance) → (pk, stored state): Django clears the pk of an object it deletes.
        befores = {
            id(f.instance): (f.instance.pk, self._stored(f.instance))
            for f in formset.initial_forms
            if f.instance.pk and (f.has_changed() or formset._should_delete_form(f))
        }
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            self._audit(request, "created", obj, None, model_snapshot(obj))
        for obj, _fields in formset.changed_objects:
            self._audit(request, "changed", obj, befores[id(obj)][1], model_snapshot(obj))
        for obj in formset.deleted_objects:
            obj.pk, before = befores[id(obj)]
            self._audit(request, "deleted", obj, before, None)

    def delete_model(self, request, obj):
        before, pk = self._stored(obj), obj.pk
        super().delete_model(request, obj)
        obj.pk = pk
        self._audit(request, "deleted", obj, before, None)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            rows = [(obj, obj.pk, model_snapshot(obj)) for obj in queryset]
            super().delete_queryset(request, queryset)
            for obj, pk, before in rows:
                obj.pk = pk
                self._audit(request, "deleted", obj, before, None)


# --- the stock user and group admin: superusers only ----------------------------------------


class SuperuserOnlyAdminMixin:
    """Users, groups and permissions are a superuser's alone, whatever permissions a group
    holds: with them anyone could make themselves superuser or set another's password. The
    office manages staff on its own pages (departments.views)."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    has_add_permission = has_module_permission

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    has_delete_permission = has_change_permission


class SuperuserUserAdmin(SuperuserOnlyAdminMixin, UserAdmin):
    pass


class SuperuserGroupAdmin(SuperuserOnlyAdminMixin, GroupAdmin):
    pass


for _model, _model_admin in ((get_user_model(), SuperuserUserAdmin), (Group, SuperuserGroupAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _model_admin)


@admin.register(Region)
class RegionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["name", "code"]


def _staff_users():
    """Who may be put in a department from the admin: active accounts that are neither
    superusers nor enterprises (a plain list: the office cannot open the user admin)."""
    return (
        get_user_model()
        .objects.filter(is_active=True, is_superuser=False)
        .exclude(groups__name=Role.ENTERPRISE.value)
        .order_by("username")
    )


class MembershipFormSet(forms.BaseInlineFormSet):
    """Rows added, changed or removed in the department's inline go through membership_add and
    membership_remove, like the staff pages: the role group follows and the change is audited."""

    audited_by_service = True

    def save_new(self, form, commit=True):
        data = form.cleaned_data
        return membership_add(
            user=data["user"], department=self.instance, role=data["role"], actor=self.actor
        )

    def save_existing(self, form, obj, commit=True):
        stored = Membership.objects.get(pk=obj.pk)
        if stored.user_id != obj.user_id:
            membership_remove(user=stored.user, department=self.instance, actor=self.actor)
        return membership_add(
            user=obj.user, department=self.instance, role=obj.role, actor=self.actor
        )

    def delete_existing(self, obj, commit=True):
        stored = Membership.objects.get(pk=obj.pk)
        membership_remove(user=stored.user, department=stored.department, actor=self.actor)


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.actor = request.user
        return formset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _staff_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Department)
class DepartmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "kind", "region", "is_active"]
    list_filter = ["kind", "is_active", "region"]
    search_fields = ["name", "code"]
    inlines = [MembershipInline]

    def _members_remove(self, request, departments) -> None:
        # Before the cascade would delete them silently: the role groups follow, each audited.
        for membership in Membership.objects.filter(department__in=departments).select_related(
            "user", "department"
        ):
            membership_remove(
                user=membership.user, department=membership.department, actor=request.user
            )

    def delete_model(self, request, obj):
        self._members_remove(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            self._members_remove(request, list(queryset))
            super().delete_queryset(request, queryset)


class RoutingRuleInline(admin.TabularInline):
    """Routing rules are edited here; AuditedAdminMixin on CategoryAdmin audits each row."""

    model = RoutingRule
    extra = 0
    filter_horizontal = ["co_departments"]


@admin.register(Category)
class CategoryAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "parent", "lead_department", "is_active", "sort_order"]
    list_filter = ["is_active", "parent"]
    search_fields = ["name", "code"]
    filter_horizontal = ["co_departments"]
    inlines = [RoutingRuleInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Every write through membership_add / membership_remove (the role group follows, the
    change is audited); the user and department of an existing row stay as they are."""

    list_display = ["user", "department", "role"]
    list_filter = ["role", "department"]
    search_fields = ["user__username", "department__name"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "department"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _staff_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        saved = membership_add(
            user=obj.user, department=obj.department, role=obj.role, actor=request.user
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        membership_remove(user=obj.user, department=obj.department, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for membership in queryset.select_related("user", "department"):
                membership_remove(
                    user=membership.user, department=membership.department, actor=request.user
                )


class ApiTokenForm(forms.ModelForm):
    role = forms.ChoiceField(label=_("角色"), choices=[(r.value, ROLE_LABELS[r]) for r in Role])

    class Meta:
        model = ApiToken
        fields = ["name", "user", "role"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created here (the key is shown once, in a message) and revoked, never edited."""

    form = ApiTokenForm
    list_display = ["name", "user", "role", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["name", "user__username", "prefix"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        # A key acts as its user: only a superuser mints one for someone (tokens.token_issuable).
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            token, key = api_token_issue(
                actor=request.user,
                user=form.cleaned_data["user"],
                role=form.cleaned_data["role"],
                name=form.cleaned_data["name"],
            )
        except ValueError:
            self.message_user(request, _("该用户不担任所选角色，未创建令牌。"), messages.ERROR)
            return
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk = token.pk
        self.message_user(
            request,
            _("令牌已创建，请立即复制保存（只显示这一次）：%(key)s") % {"key": key},
            messages.WARNING,
        )

    @admin.action(description=_("吊销所选令牌"))
    def revoke(self, request, queryset):
        for token in queryset:
            api_token_revoke(actor=request.user, token_id=token.pk)


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    """The audit trail, read only: nobody adds, edits or deletes a record by hand."""

    list_display = [
        "at",
        "event",
        "outcome",
        "actor",
        "actor_name",
        "object_type",
        "object_id",
        "changes",
    ]
    list_filter = ["object_type", "outcome", "event"]
    search_fields = ["actor_name", "object_id", "event"]
    date_hierarchy = "at"
    list_select_related = ["actor"]

    @admin.display(description=_("变更（前 → 后）"))
    def changes(self, obj: AuditRecord) -> str:
        changes = (obj.detail or {}).get("changes") or {}
        return "; ".join(
            f"{name}: {before!r} → {after!r}" for name, (before, after) in changes.items()
        )
