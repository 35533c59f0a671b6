"""The lead pages' forms. The services check everything again, for the API's sake too."""

from django import forms
from django.utils.translation import gettext_lazy as _

from departments.selectors import active_categories, active_departments, regions
from leads.models import Lead
from leads.services import APPEAL_CHANNELS


class LeadFileForm(forms.Form):
    kind = forms.ChoiceField(label=_("线索类型"), choices=Lead.Kind.choices)
    department = forms.ModelChoiceField(
        label=_("涉及单位"), queryset=active_departments(), empty_label=_("请选择")
    )
    happened_on = forms.DateField(
        label=_("发生日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    place = forms.CharField(label=_("地点"), max_length=200, required=False)
    description = forms.CharField(
        label=_("具体情况"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("经过、时间、涉及的事项。线索只有营商办能看到，承办单位看不到您的身份。"),
    )
    attachment = forms.FileField(
        label=_("附件（可选）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.doc,.docx"}),
    )


class LeadToAppealForm(forms.Form):
    title = forms.CharField(label=_("诉求标题"), max_length=100)
    content = forms.CharField(
        label=_("诉求内容"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("承办单位将看到这段文字：请删去可能识别监督员身份的内容。"),
    )
    channel = forms.ChoiceField(
        label=_("来源渠道"),
        choices=[(c.value, c.label) for c in APPEAL_CHANNELS],
    )
    category = forms.ModelChoiceField(
        label=_("诉求类别"), queryset=active_categories(), required=False
    )
    region = forms.ModelChoiceField(label=_("所在县（市、区）"), queryset=regions(), required=False)


class LeadReferForm(forms.Form):
    referred_to = forms.CharField(label=_("移交单位"), max_length=100)
    what = forms.CharField(
        label=_("移交内容"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class LeadCloseForm(forms.Form):
    reason = forms.CharField(
        label=_("办结理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
