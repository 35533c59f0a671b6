"""Forms of the office's staff pages. The services check everything again."""

from django import forms
from django.utils.translation import gettext_lazy as _

from departments.models import Membership
from departments.roles import GROUP_ROLES, ROLE_LABELS
from departments.selectors import active_departments

ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in GROUP_ROLES] + list(Membership.Role.choices)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("角色"), choices=ROLE_CHOICES)
    department = forms.ModelChoiceField(
        label=_("单位"),
        queryset=active_departments(),
        required=False,
        help_text=_("承办人、单位负责人、联络员须选择单位。"),
    )

    def clean(self):
        data = super().clean()
        if data.get("role") in Membership.Role.values and not data.get("department"):
            self.add_error("department", _("单位角色须选择单位。"))
        return data


class StaffCreateForm(RoleForm):
    username = forms.CharField(label=_("用户名"), max_length=150)
    last_name = forms.CharField(label=_("姓"), max_length=150, required=False)
    first_name = forms.CharField(label=_("名"), max_length=150)
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    password = forms.CharField(
        label=_("初始密码"),
        widget=forms.PasswordInput(render_value=False),
        help_text=_("请当面告知本人，并提醒其登录后修改。"),
    )

    field_order = ["username", "last_name", "first_name", "email", "password", "role", "department"]


class StaffSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=50)
