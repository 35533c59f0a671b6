from django import forms, template
from django.utils import translation

from appeals import events, validators
from appeals.models import EventCode
from departments.names import person_name
from departments.roles import Role

register = template.Library()

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
    if code in EventCode.values:
        return str(EventCode(code).label)
    return code


# What an event or notification says, in the reader's language (appeals.events).
register.filter("event_text", events.event_text)
register.filter("notification_subject", events.notification_subject)
register.filter("notification_body", events.notification_body)


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
    name = person_name(user)
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


@register.filter
def get_item(mapping, key):
    """mapping[key] in a template, or None: {{ references|get_item:a.pk }}."""
    return mapping.get(key) if mapping else None


# Chinese punctuation written between translated words and values in a template, and what an
# English page shows instead: an English page never shows "Blocked：" or "a、b".
_PUNCTUATION_EN = {"：": ": ", "，": ", ", "、": ", ", "。": ". ", "（": " (", "）": ")"}


@register.simple_tag
def punct(mark: str) -> str:
    """{% punct "：" %}: the mark in Chinese, its English counterpart on an English page."""
    if (translation.get_language() or "").startswith("zh"):
        return mark
    return _PUNCTUATION_EN.get(mark, mark)
