"""HTML forms for meetings, contacts and coverage. They give messages field by field; the
services check again, so the pages and the services refuse the same things."""

from django import forms
from django.utils.translation import gettext_lazy as _

from appeals.models import Enterprise
from core.widgets import FastSelect, FastSelectMultiple
from departments.models import Department
from departments.roles import Role, has_role
from departments.selectors import active_categories, active_departments, regions
from engagement.actions import BATCH_MAX_ROWS, county_government_ids_of
from engagement.models import Contact, Meeting
from engagement.selectors import COVERAGE_DEFAULT_DAYS, COVERAGE_MAX_DAYS, enterprises_for_contact

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MeetingForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=Meeting.Kind.choices)
    title = forms.CharField(label=_("会议名称"), max_length=100)
    held_on = forms.DateField(label=_("会议日期"), widget=DATE)
    place = forms.CharField(label=_("地点"), max_length=100)
    presiding_leader = forms.CharField(label=_("主持领导"), max_length=50)
    region = forms.ModelChoiceField(label=_("所属区划"), queryset=regions())
    organiser = forms.ModelChoiceField(
        label=_("主办单位"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("营商环境办"),
        help_text=_("县（市、区）主办的，所属区划为该县（市、区）。"),
    )
    departments = forms.ModelMultipleChoiceField(
        label=_("参会单位"),
        queryset=active_departments(),
        required=False,
        widget=FastSelectMultiple(attrs={"size": 8}),
    )
    enterprises = forms.ModelMultipleChoiceField(
        label=_("受邀企业"),
        queryset=Enterprise.objects.order_by("name"),
        required=False,
        widget=FastSelectMultiple(attrs={"size": 10}),
        help_text=_("按住 Ctrl（Mac 为 Command）可多选。会上诉求只能为受邀企业登记。"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        counties = Department.objects.filter(pk__in=county_government_ids_of(user))
        if has_role(user, Role.OFFICE):
            counties = Department.objects.filter(kind=Department.Kind.COUNTY_GOV, is_active=True)
        else:
            # A county's staff organise for their county: the office is not theirs to choose.
            self.fields["organiser"].required = True
            self.fields["organiser"].empty_label = None
        self.fields["organiser"].queryset = counties.order_by("code")


class MeetingRowForm(forms.Form):
    """One line of the batch table. Every field may be left empty here: a blank line is
    skipped, and the service names what a filled line lacks, row by row."""

    enterprise = forms.ModelChoiceField(
        label=_("企业"),
        queryset=Enterprise.objects.none(),
        required=False,
        empty_label="—",
        widget=FastSelect,
    )
    category = forms.ModelChoiceField(
        label=_("诉求类别"),
        queryset=active_categories(),
        required=False,
        empty_label="—",
        widget=FastSelect,
    )
    title = forms.CharField(label=_("标题（可不填）"), max_length=100, required=False)
    content = forms.CharField(
        label=_("诉求内容"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # Rendered on every row of the batch: core.widgets' selects, without a template per option.
    proposed_lead = forms.ModelChoiceField(
        label=_("建议牵头单位"),
        queryset=active_departments(),
        required=False,
        empty_label="—",
        widget=FastSelect,
    )

    def __init__(self, *args, meeting: Meeting, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["enterprise"].queryset = meeting.enterprises.order_by("name")


MeetingRowFormSet = forms.formset_factory(
    MeetingRowForm, extra=0, max_num=BATCH_MAX_ROWS, absolute_max=BATCH_MAX_ROWS
)
BATCH_BLANK_ROWS = 8


class ContactForm(forms.Form):
    enterprise = forms.ModelChoiceField(label=_("企业"), queryset=None)
    kind = forms.ChoiceField(label=_("方式"), choices=Contact.Kind.choices)
    contacted_on = forms.DateField(label=_("对接日期"), widget=DATE)
    summary = forms.CharField(
        label=_("对接内容"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("企业的经营情况、提出的问题和专员的答复。"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["enterprise"].queryset = enterprises_for_contact(user).order_by("name")


class RaiseAppealForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("诉求类别"),
        queryset=active_categories(),
        required=False,
        empty_label=_("不确定（分办时再分类）"),
    )
    title = forms.CharField(label=_("诉求标题"), max_length=100)
    content = forms.CharField(
        label=_("诉求内容"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )


class CoverageForm(forms.Form):
    days = forms.IntegerField(
        label=_("最近工作日数"),
        min_value=1,
        max_value=COVERAGE_MAX_DAYS,
        initial=COVERAGE_DEFAULT_DAYS,
    )
