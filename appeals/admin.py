"""The office's configuration of enterprises, and read-only views of the workflow records:
appeals, assignments and replies change only through the services (their pages)."""

from django.contrib import admin

from appeals.models import (
    Appeal,
    Enterprise,
    EnterpriseTag,
    ExtensionRequest,
    Notification,
    TimelineEvent,
)
from departments.admin import ReadOnlyAdmin


@admin.register(EnterpriseTag)
class EnterpriseTagAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["name", "credit_code", "region", "commissioner"]
    list_filter = ["region", "tags"]
    search_fields = ["name", "credit_code"]
    filter_horizontal = ["tags"]
    autocomplete_fields = ["commissioner", "users"]
    list_select_related = ["region", "commissioner"]


class TimelineInline(admin.TabularInline):
    model = TimelineEvent
    fields = ["created_at", "code", "department", "actor", "note", "is_public"]
    readonly_fields = fields
    extra = 0
    can_delete = False

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
    list_display = ["created_at", "channel", "event", "recipient", "subject", "sent_at", "attempts"]
    list_filter = ["channel", "event"]
    search_fields = ["subject"]
    exclude = ["address"]
