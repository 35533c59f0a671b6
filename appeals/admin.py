"""The office's configuration of enterprises, and read-only views of the workflow records:
appeals, assignments and replies change only through the services (their pages)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from appeals import events
from appeals.models import (
    Appeal,
    Enterprise,
    EnterpriseTag,
    ExtensionRequest,
    Notification,
    SmsOptOut,
    TimelineEvent,
)
from appeals.validators import normalize_credit_code
from departments.admin import ReadOnlyAdmin
from departments.roles import Role
from departments.selectors import users_with_role


@admin.register(EnterpriseTag)
class EnterpriseTagAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["name", "credit_code", "region", "commissioner"]
    list_filter = ["region", "tags"]
    search_fields = ["name", "credit_code"]
    filter_horizontal = ["tags"]
    # The commissioner is chosen from the commissioners only (a short list, so a plain select:
    # an autocomplete would search every user); Enterprise.clean() refuses anyone else too.
    autocomplete_fields = ["users"]
    list_select_related = ["region", "commissioner"]

    def get_search_results(self, request, queryset, search_term):
        # A code pasted as typed (full-width, lower case, in groups) finds the stored one.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        code = normalize_credit_code(search_term)
        if code and code != search_term.strip():
            results |= queryset.filter(credit_code__contains=code)
        return results, may_have_duplicates

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "commissioner":
            kwargs["queryset"] = users_with_role(Role.COMMISSIONER)
            kwargs["error_messages"] = {
                "invalid_choice": _("请选择为企服务专员：所选用户不是为企服务专员或已停用。")
            }
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TimelineInline(admin.TabularInline):
    model = TimelineEvent
    fields = ["created_at", "code", "department", "actor", "text", "is_public"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description=_("记录内容"))
    def text(self, event):
        return events.event_text(event)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ["number", "title", "status", "colour", "category", "region", "filed_at"]
    list_filter = ["status", "colour", "channel", "category", "region"]
    search_fields = ["number", "title", "enterprise_name"]
    list_select_related = ["category", "region"]
    exclude = ["query_code_hash"]
    inlines = [TimelineInline]
    date_hierarchy = "filed_at"


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdmin):
    list_display = ["appeal", "assignment", "days", "state", "created_at"]
    list_filter = ["state"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "channel", "event", "recipient", "title", "sent_at", "attempts"]
    list_filter = ["channel", "event"]
    exclude = ["address"]

    @admin.display(description=_("标题"))
    def title(self, notification):
        return events.notification_subject(notification)


@admin.register(SmsOptOut)
class SmsOptOutAdmin(admin.ModelAdmin):
    """Numbers that replied TD: recorded by the gateway's callback only; the office may delete
    one when the enterprise asks to be told again."""

    list_display = ["phone", "text", "created_at"]
    search_fields = ["phone"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
