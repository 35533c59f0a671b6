from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

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
from departments.tokens import api_token_issue, api_token_revoke


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that change only through the services (or never): the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["name", "code"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "region", "is_active"]
    list_filter = ["kind", "is_active", "region"]
    search_fields = ["name", "code"]
    inlines = [MembershipInline]


class RoutingRuleInline(admin.TabularInline):
    model = RoutingRule
    extra = 0
    filter_horizontal = ["co_departments"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent", "lead_department", "is_active", "sort_order"]
    list_filter = ["is_active", "parent"]
    search_fields = ["name", "code"]
    filter_horizontal = ["co_departments"]
    inlines = [RoutingRuleInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "role"]
    list_filter = ["role", "department"]
    search_fields = ["user__username", "department__name"]


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

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            token, key = api_token_issue(
                user=form.cleaned_data["user"],
                role=form.cleaned_data["role"],
                name=form.cleaned_data["name"],
            )
        except ValueError:
            self.message_user(request, _("该用户不担任所选角色，未创建令牌。"), messages.ERROR)
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
            api_token_revoke(token_id=token.pk)


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    """The audit trail, read only: nobody adds, edits or deletes a record by hand."""

    list_display = ["at", "event", "outcome", "actor", "actor_name", "object_type", "object_id"]
    list_filter = ["outcome", "event"]
    search_fields = ["actor_name", "object_id", "event"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
