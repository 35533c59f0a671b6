from django import forms, template
from django.utils.translation import gettext_lazy as _

from appeals import validators
from departments.roles import Role

register = template.Library()

EVENT_LABELS = {
    "filed": _("登记"),
    "routed": _("交办"),
    "signed": _("签收"),
    "returned": _("退回"),
    "opinion_sent": _("配合意见"),
    "reply_for_review": _("答复提交审核"),
    "review_head_approved": _("单位负责人审核同意"),
    "review_head_sent_back": _("单位负责人退回修改"),
    "review_office_approved": _("营商办审核同意"),
    "review_office_sent_back": _("营商办退回修改"),
    "replied": _("办理反馈"),
    "rated": _("企业评价"),
    "reopened": _("重办"),
    "closed": _("办结"),
    "not_accepted": _("不予受理"),
    "redirected": _("转办"),
    "merged": _("并案"),
    "merged_from": _("并案"),
    "followed_up": _("回访"),
    "material_requested": _("请企业补充材料"),
    "material_supplied": _("企业补充材料"),
    "extension_requested": _("延期申请"),
    "extension_approved": _("同意延期"),
    "extension_rejected": _("不同意延期"),
    "blocked": _("标记受阻"),
    "unblocked": _("解除受阻"),
    "rating_lapsed": _("逾期未评价，视为认可"),
    "escalated": _("督办"),
    "deadline_changed": _("办理时限调整"),
    "publicised": _("张榜公示"),
    "unpublicised": _("撤下公示"),
}

STATUS_CLASSES = {
    "triage": "text-bg-warning",
    "assigned": "text-bg-info",
    "in_progress": "text-bg-primary",
    "replied": "text-bg-success",
    "closed": "text-bg-secondary",
    "not_accepted": "text-bg-dark",
    "merged": "text-bg-dark",
    "redirected": "text-bg-dark",
}


@register.filter
def event_label(code: str) -> str:
    return str(EVENT_LABELS.get(code, code))


@register.filter
def status_class(status: str) -> str:
    return STATUS_CLASSES.get(status, "text-bg-light")


@register.filter
def masked_phone(value: str) -> str:
    return validators.mask_phone(value)


@register.filter
def masked_name(value: str) -> str:
    return validators.mask_name(value)


@register.filter
def actor_name(user) -> str:
    """Who did a step, on the staff timeline: staff by name (accountability); an enterprise
    account masked like any contact name, since co-handlers see the timeline too. Reads the
    groups prefetched by appeals.selectors.appeal_detail."""
    name = user.get_full_name() or user.username
    if any(g.name == Role.ENTERPRISE for g in user.groups.all()):
        return validators.mask_name(name)
    return name


@register.filter
def bs(field):
    """Render a bound field's widget with Bootstrap classes (and is-invalid on errors)."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        css = ""
    elif isinstance(widget, forms.Select | forms.SelectMultiple):
        css = "form-select"
    else:
        css = "form-control"
    if field.errors:
        css += " is-invalid"
    return field.as_widget(attrs={"class": css} if css else {})
