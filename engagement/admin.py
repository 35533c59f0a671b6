"""The office configures grids here: their counties and parks, their commissioners and their
enterprises. Every change is audited (AuditedAdminMixin) and kept in history. Meetings,
their appeals and contacts change only through engagement.services: the admin shows them."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from departments.admin import AuditedAdminMixin, ReadOnlyAdmin
from departments.names import person_name
from departments.roles import Role, has_role
from engagement.models import Contact, Grid, GridMember, Meeting, MeetingAppeal


class GridForm(forms.ModelForm):
    class Meta:
        model = Grid
        fields = ["name", "region", "park", "commissioners"]

    def clean_commissioners(self):
        users = self.cleaned_data["commissioners"]
        wrong = [u for u in users if not has_role(u, Role.COMMISSIONER)]
        if wrong:
            raise ValidationError(
                _("“%(user)s”不是为企服务专员，不能分配到网格。") % {"user": person_name(wrong[0])}
            )
        return users


class GridMemberInline(admin.TabularInline):
    model = GridMember
    extra = 1
    autocomplete_fields = ["enterprise"]


@admin.register(Grid)
class GridAdmin(AuditedAdminMixin, SimpleHistoryAdmin):
    form = GridForm
    list_display = ["name", "region", "park"]
    list_filter = ["region"]
    search_fields = ["name", "park"]
    filter_horizontal = ["commissioners"]
    inlines = [GridMemberInline]


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyAdmin):
    list_display = ["held_on", "title", "kind", "region", "presiding_leader"]
    list_filter = ["kind", "region"]


@admin.register(MeetingAppeal)
class MeetingAppealAdmin(ReadOnlyAdmin):
    list_display = ["meeting", "appeal", "proposed_lead"]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["contacted_on", "enterprise", "commissioner", "kind", "appeal"]
    list_filter = ["kind"]
