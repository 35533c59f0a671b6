from django import forms
from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.jobs import enqueue
from departments.admin import AuditedAdminMixin, ReadOnlyAdmin
from sla.calendar import calendar_changed
from sla.models import CalendarOverride, CalendarYear, Clock, EscalationStep, Policy

WEEKDAYS = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]


class YearListFilter(admin.SimpleListFilter):
    title = _("年度")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = model_admin.get_queryset(request).dates("date", "year", order="DESC")
        return [(str(d.year), str(d.year)) for d in years]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(date__year=self.value())
        return queryset


class CalendarAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Every write through the admin tells the calendar cache (explicitly: no signals), and is
    audited with before → after (AuditedAdminMixin)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        calendar_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        calendar_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        calendar_changed()


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(CalendarAdmin):
    list_display = [
        "date",
        "weekday",
        "is_working_day",
        "name",
        "notice",
        "created_by",
        "created_at",
    ]
    list_filter = [YearListFilter, "is_working_day"]
    search_fields = ["name", "notice", "date"]
    date_hierarchy = "date"
    fields = ["date", "is_working_day", "name", "notice", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]

    @admin.display(description=_("星期"))
    def weekday(self, obj: CalendarOverride) -> str:
        # Shown so that a 调休 entry on a weekday, or a holiday on a weekend, stands out.
        return str(WEEKDAYS[obj.date.weekday()])

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(CalendarYear)
class CalendarYearAdmin(CalendarAdmin):
    list_display = ["year", "confirmed", "notice"]
    list_filter = ["confirmed", "year"]
    search_fields = ["year", "notice"]


@admin.register(Policy)
class PolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """model.clean() refuses a promised limit longer than two thirds of the statutory one."""

    list_display = [
        "__str__",
        "sign_days",
        "sign_statutory_days",
        "opinion_days",
        "opinion_statutory_days",
        "reply_days",
        "reply_statutory_days",
        "rating_days",
    ]
    list_filter = ["priority"]
    autocomplete_fields = ["category"]


class EscalationStepForm(forms.ModelForm):
    """The targets as checkboxes of EscalationStep.Target, stored as the same comma-separated
    string the sweep reads."""

    targets = forms.MultipleChoiceField(
        label=_("通知对象"),
        choices=EscalationStep.Target.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = EscalationStep
        fields = ["code", "name", "colour", "after_working_days", "targets", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["targets"] = self.instance.target_list()

    def clean_targets(self) -> str:
        chosen = self.cleaned_data["targets"]
        return ",".join(t for t in EscalationStep.Target.values if t in chosen)


@admin.register(EscalationStep)
class EscalationStepAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """model.clean() refuses an unknown target; the form offers only the known ones."""

    form = EscalationStepForm
    list_display = ["code", "name", "colour", "after_working_days", "target_labels", "is_active"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        _ladder_changed()

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        _ladder_changed()

    @admin.display(description=_("通知对象"))
    def target_labels(self, obj: EscalationStep) -> str:
        labels = dict(EscalationStep.Target.choices)
        return "、".join(str(labels.get(t, t)) for t in obj.target_list())


def _ladder_changed() -> None:
    """A changed ladder reaches the clocks already yellow or red (sla.services.clocks_reschedule),
    in the background once the change is committed."""
    transaction.on_commit(lambda: enqueue("sla.clocks_reschedule"))


@admin.register(Clock)
class ClockAdmin(ReadOnlyAdmin):
    """Read-only: clocks change only through the workflow and the sweep."""

    list_display = ["appeal", "department", "obligation", "state", "due_date", "colour"]
    list_filter = ["obligation", "state", "colour"]
    search_fields = ["appeal__number"]
    list_select_related = ["appeal", "department"]
