"""HTML forms. They give clear messages field by field; the services check again, so the API
and the pages refuse the same things."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from appeals.fields import CreditCodeFormField
from appeals.models import Appeal, Rating, Reply
from appeals.validators import validate_phone
from core.widgets import FastSelect, FastSelectMultiple
from departments.models import Department
from departments.selectors import (
    active_categories,
    active_departments,
    category_active,
    region_of,
    regions,
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget",
            MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.doc,.docx,.xls,.xlsx"}),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class HeldChoiceField(forms.ModelChoiceField):
    """A choice of a row the process holds (departments.selectors.CHOICES): the submitted id is
    found in memory, not in the database. `lookup(pk)` gives the row or None; the queryset
    still lists the choices the page shows."""

    def __init__(self, *args, lookup, **kwargs):
        self.lookup = lookup
        super().__init__(*args, **kwargs)

    def __deepcopy__(self, memo):
        """Each form's copy of the field, as Django makes it, sharing the queryset where Django
        clones it twice (a third of the filing form's construction, bench/README.md): the
        choices are listed with `.iterator()`, which never fills a queryset's cache, so a shared
        one lists what is stored when the page is drawn. The copy lists them itself (its widget's
        choices are its own, Django's bug #11183)."""
        if self._queryset is None or self._queryset._prefetch_related_lookups:
            return super().__deepcopy__(memo)
        result = super(forms.ChoiceField, self).__deepcopy__(memo)
        result._queryset = self._queryset
        result.widget.choices = result.choices
        return result

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            found = self.lookup(int(value))
        except (TypeError, ValueError):
            found = None
        if found is None:
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return found


class AppealFileForm(forms.Form):
    is_anonymous = forms.BooleanField(
        label=_("无署名提交"),
        required=False,
        help_text=_("选择后不填写企业和联系人信息，凭登记号和查询码查询进度。"),
        # static/js/site.js disables these while the box is ticked; the service drops them.
        widget=forms.CheckboxInput(
            attrs={"data-disables": "id_contact_name id_contact_phone id_sms_opt_in"}
        ),
    )
    enterprise_name = forms.CharField(label=_("企业名称"), max_length=200, required=False)
    credit_code = CreditCodeFormField(
        label=_("统一社会信用代码"), required=False, help_text=_("18位，可不填")
    )
    contact_name = forms.CharField(label=_("联系人"), max_length=50, required=False)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)
    # Off unless ticked: the enterprise asks for the step messages (issue #19 part 5).
    sms_opt_in = forms.BooleanField(
        label=_("接收办理进度短信"),
        required=False,
        help_text=_(
            "每办理一步（登记、交办、补充材料、答复、办结、回访）发一条短信告知，"
            "可随时回复TD退订。无署名提交不发送。"
        ),
    )
    language = forms.ChoiceField(
        label=_("通知语言"),
        choices=settings.LANGUAGES,
        initial=settings.LANGUAGE_CODE,
        required=False,
        help_text=_("短信和电子邮件通知使用的语言。"),
    )
    category = HeldChoiceField(
        label=_("诉求类别"),
        queryset=active_categories(),
        lookup=category_active,
        required=False,
        empty_label=_("不确定（由服务专员分类）"),
    )
    region = HeldChoiceField(
        label=_("所在县（市、区）"),
        queryset=regions(),
        lookup=region_of,
        required=False,
        empty_label=_("请选择"),
    )
    title = forms.CharField(label=_("诉求标题"), max_length=100)
    content = forms.CharField(
        label=_("诉求内容"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("请写明遇到的问题、涉及的单位和希望得到的帮助，最多5000字。"),
    )
    attachments = MultipleFileField(label=_("附件"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Formatted per request, so that the help text follows the page's language.
        self.fields["attachments"].help_text = gettext(
            "可上传 PDF、JPG、PNG、Word、Excel，单个不超过 %(mb)d MB，最多 %(n)d 个。"
        ) % {
            "mb": settings.APPEAL_ATTACHMENT_MAX_BYTES // (1024 * 1024),
            "n": settings.APPEAL_ATTACHMENT_MAX_COUNT,
        }

    def clean_contact_phone(self):
        value = self.cleaned_data["contact_phone"]
        if self.cleaned_data.get("is_anonymous"):
            return ""  # not kept (appeal_file drops it): a typo in it is no reason to refuse
        if value:
            validate_phone(value)
        return value

    def clean_language(self):
        # A page or script that sends none: Chinese, the enterprise's default.
        return self.cleaned_data["language"] or settings.LANGUAGE_CODE

    def clean_sms_opt_in(self):
        # An anonymous filing gives no number to text (appeal_file drops the choice too).
        return self.cleaned_data["sms_opt_in"] and not self.cleaned_data.get("is_anonymous")

    def clean(self):
        data = super().clean()
        if not data.get("is_anonymous"):
            for field, label in (
                ("enterprise_name", _("企业名称")),
                ("contact_name", _("联系人")),
                ("contact_phone", _("联系电话")),
            ):
                if not data.get(field) and field not in self.errors:
                    self.add_error(
                        field,
                        ValidationError(_("请填写%(f)s（或选择无署名提交）。") % {"f": label}),
                    )
        return data


class StaffFileForm(AppealFileForm):
    """Staff enter appeals that arrived by other channels."""

    channel = forms.ChoiceField(
        label=_("来源渠道"),
        choices=[
            (c.value, c.label)
            for c in Appeal.Channel
            if c not in (Appeal.Channel.WEB, Appeal.Channel.API)
        ],
    )
    priority = forms.ChoiceField(label=_("紧急程度"), choices=Appeal.Priority.choices)
    field_order = ["channel", "priority"]


class TrackForm(forms.Form):
    number = forms.CharField(
        label=_("登记号"),
        max_length=30,
        widget=forms.TextInput(attrs={"placeholder": "XC-2026-000123"}),
    )
    # Shown as typed, not masked: a 26-character code typed blind is mistyped, and it is read
    # off a receipt, not remembered like a password. Case, dashes and spaces do not matter.
    code = forms.CharField(
        label=_("查询码"),
        max_length=60,
        help_text=_("不区分大小写，短横线和空格可输可不输。"),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )


class AppealPageForm(forms.Form):
    """A form on the appeal page, which shows several at once with the same field names
    (explanation, note, reason, content…): each form's ids carry its own prefix, so that each
    label points at its own field. The field names, and so the POST data, stay as they are."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


# The order of the groups in the department pickers: the city's own bureaus first (most
# appeals go to them), then the other city-level bodies, then the counties and below.
DEPARTMENT_KIND_ORDER = [
    Department.Kind.MUNICIPAL,
    Department.Kind.UTILITY,
    Department.Kind.DEV_ZONE,
    Department.Kind.COUNTY_GOV,
    Department.Kind.TOWN,
]


def department_choices_grouped(departments) -> list[tuple[str, list[tuple[str, str]]]]:
    """Departments as <optgroup>s by kind, in DEPARTMENT_KIND_ORDER, each sorted by code."""
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for d in sorted(departments, key=lambda d: d.code):
        by_kind.setdefault(d.kind, []).append((str(d.pk), d.name))
    order = [
        *DEPARTMENT_KIND_ORDER,
        *(k for k in Department.Kind if k not in DEPARTMENT_KIND_ORDER),
    ]
    return [(Department.Kind(k).label, by_kind[k]) for k in order if k in by_kind]


PICKER_ATTRS = {"data-placeholder": _("输入名称搜索单位"), "data-no-results": _("没有匹配的单位")}


class RouteForm(forms.Form):
    # Widgets from core.widgets throughout: the same HTML as Django's, written without a
    # template per option (the department pickers were most of this page's time).
    category = forms.ModelChoiceField(
        label=_("诉求分类"), queryset=active_categories(), widget=FastSelect
    )
    region = forms.ModelChoiceField(
        label=_("所属区划"), queryset=regions(), required=False, widget=FastSelect
    )
    # data-picker: static/js/picker.js turns these into searchable pickers (Tom Select); without
    # JavaScript the native selects, grouped the same way, still work.
    lead = forms.ModelChoiceField(
        label=_("牵头单位"),
        queryset=active_departments(),
        widget=FastSelect(attrs=PICKER_ATTRS | {"data-picker": "single"}),
    )
    co_handlers = forms.ModelMultipleChoiceField(
        label=_("配合单位"),
        queryset=active_departments(),
        required=False,
        widget=FastSelectMultiple(attrs=PICKER_ATTRS | {"size": 12, "data-picker": "multiple"}),
        help_text=_("可输入名称搜索，可选多个单位。"),
    )
    note = forms.CharField(
        label=_("内部交办意见（仅承办单位和工作人员可见）"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    enterprise_note = forms.CharField(
        label=_("给企业的说明（企业在进度查询中可见）"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("企业看到“已交办：承办单位”及此处的说明；内部交办意见不会显示给企业。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One query for both pickers; the fields still validate against their querysets.
        grouped = department_choices_grouped(active_departments())
        self.fields["lead"].widget.choices = [("", "---------"), *grouped]
        self.fields["co_handlers"].widget.choices = grouped


class DeclineForm(AppealPageForm):
    id_prefix = "decline"
    status = forms.ChoiceField(
        label=_("处理方式"),
        choices=[
            (Appeal.Status.NOT_ACCEPTED.value, _("不予受理（不属于受理范围）")),
            (Appeal.Status.REDIRECTED.value, _("转办 / 引导至其他渠道")),
        ],
    )
    explanation = forms.CharField(
        label=_("给企业的说明"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class MergeForm(AppealPageForm):
    id_prefix = "merge"
    into_number = forms.CharField(label=_("并入的登记号"), max_length=30)
    explanation = forms.CharField(
        label=_("给企业的说明"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReturnForm(AppealPageForm):
    id_prefix = "return"
    reason = forms.CharField(
        label=_("退回理由"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class OpinionForm(AppealPageForm):
    id_prefix = "opinion"
    content = forms.CharField(
        label=_("配合意见"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReplyForm(AppealPageForm):
    id_prefix = "reply"
    # No outcome is chosen in advance: "resolved" skips review and goes straight to the
    # enterprise, so it must be picked on purpose, never submitted because it came first.
    outcome = forms.ChoiceField(
        label=_("办理结果"),
        choices=Reply.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择办理结果。")},
    )
    content = forms.CharField(
        label=_("答复内容"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("“已解决”以外的结果需经单位负责人和营商办审核后才反馈企业。"),
    )


class ReviewForm(AppealPageForm):
    id_prefix = "review"
    decision = forms.ChoiceField(
        choices=[("approve", _("同意")), ("send_back", _("退回修改"))], widget=forms.HiddenInput
    )
    note = forms.CharField(
        label=_("审核意见"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RateForm(forms.Form):
    score = forms.ChoiceField(
        label=_("您对办理结果的评价"),
        choices=[
            (Rating.Score.SATISFIED.value, Rating.Score.SATISFIED.label),
            (Rating.Score.BASICALLY_SATISFIED.value, Rating.Score.BASICALLY_SATISFIED.label),
            (Rating.Score.UNSATISFIED.value, Rating.Score.UNSATISFIED.label),
        ],
        widget=forms.RadioSelect,
    )
    # Asked right after 不满意 is chosen, and only then (static/js/site.js, data-shown-if; shown
    # always without script): re-handling, or ending the appeal with the reason in the comment.
    next_step = forms.ChoiceField(
        label=_("不满意，接下来"),
        choices=[
            ("rehandle", _("申请重新办理（退回承办单位重新办理）")),
            ("close", _("不再办理，结束本诉求（请在评价意见中说明理由）")),
        ],
        required=False,
        widget=forms.RadioSelect(attrs={"data-shown-if": f"score={Rating.Score.UNSATISFIED}"}),
    )
    comment = forms.CharField(
        label=_("评价意见"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        data = super().clean()
        unsatisfied = data.get("score") == Rating.Score.UNSATISFIED
        if unsatisfied and not data.get("next_step"):
            self.add_error("next_step", _("请选择申请重新办理，或不再办理并说明理由。"))
        elif unsatisfied and data.get("next_step") == "close" and not data.get("comment"):
            self.add_error("comment", _("不再办理的，请在评价意见中说明理由。"))
        return data

    @property
    def rehandle(self) -> bool | None:
        """What the service takes: said only for an unsatisfied rating."""
        if self.cleaned_data.get("score") != Rating.Score.UNSATISFIED:
            return None
        return self.cleaned_data.get("next_step") == "rehandle"


class CloseForm(AppealPageForm):
    id_prefix = "close"
    note = forms.CharField(
        label=_("销号说明"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class FollowUpForm(AppealPageForm):
    id_prefix = "followup"
    content = forms.CharField(
        label=_("回访记录"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class MaterialRequestForm(AppealPageForm):
    id_prefix = "material"
    note = forms.CharField(
        label=_("需企业补充的材料"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("发出后本件各项时限暂停计时，企业补充后恢复。"),
    )


class MaterialSupplyForm(forms.Form):
    content = forms.CharField(
        label=_("补充说明"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    attachments = MultipleFileField(label=_("补充附件"), required=False)


class ExtensionRequestForm(AppealPageForm):
    id_prefix = "extension"
    days = forms.IntegerField(label=_("延期工作日数"), min_value=1, max_value=30)
    reason = forms.CharField(
        label=_("延期理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ExtensionDecisionForm(AppealPageForm):
    id_prefix = "extension_decision"
    decision = forms.ChoiceField(choices=[("approve", _("同意")), ("reject", _("不同意"))])
    note = forms.CharField(
        label=_("审批意见"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class BlockForm(AppealPageForm):
    id_prefix = "block"
    blocked = forms.BooleanField(required=False)
    reason = forms.CharField(
        label=_("受阻原因"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
