"""Select widgets whose options are written in Python.

Django renders every <option> through a template include (select_option.html, attrs.html).
A picker of a province's 300 departments then costs about 10 ms a field, and the triage page
has two of them: on that page at 100,000 appeals, rendering its form fields took more time
than everything else (bench/README.md, issue #18). These widgets give the same HTML as Django's
templates (tests/test_widgets.py compares them), built as one string: the same context
(`get_context`: choices, groups, selection, attributes), only the last step differs."""

from django import forms
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe


def _attrs(attrs: dict) -> str:
    """As django/forms/widgets/attrs.html: in order, False left out, True as a bare name."""
    return "".join(
        f" {escape(name)}" if value is True else f' {escape(name)}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


def _option(option: dict) -> str:
    return format_html(
        '<option value="{}"{}>{}</option>',
        str(option["value"]),
        mark_safe(_attrs(option["attrs"])),  # noqa: S308  # nosec B308 B703 (escaped in _attrs)
        option["label"],
    )


def _select(widget: dict) -> str:
    attrs = mark_safe(_attrs(widget["attrs"]))  # noqa: S308  # nosec B308 B703 (escaped in _attrs)
    parts: list[str] = [format_html('<select name="{}"{}>', widget["name"], attrs)]
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(format_html('\n  <optgroup label="{}">', group_name))
        # Each option ends with the line break its template file ends with.
        parts.extend(f"\n  {_option(option)}\n" for option in options)
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    # Every value, label and attribute went through format_html (escaped) above.
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703


class FastSelectMixin:
    def render(self, name, value, attrs=None, renderer=None):
        return _select(self.get_context(name, value, attrs)["widget"])


class FastSelect(FastSelectMixin, forms.Select):
    pass


class FastSelectMultiple(FastSelectMixin, forms.SelectMultiple):
    pass
