"""core.widgets writes a select's options in Python: the HTML must be Django's, exactly, or a
picker could lose its selection, its groups or an escape."""

import pytest
from django import forms

from core.widgets import FastSelect, FastSelectMultiple

CHOICES = [
    ("", "---------"),
    ("市直部门", [(1, "市财政局"), (2, '市"发改"委 <b>&</b>'), (3, "O'Brien 局")]),
    ("公共服务企业", [(4, "市供电公司")]),
    (5, "宣城经开区管委会"),
]
ATTRS = {
    "class": "form-select",
    "id": "id_lead",
    "required": True,
    "disabled": False,
    "data-x": "a&b",
}


@pytest.mark.parametrize("value", [None, "", 2, "3", [1, 4], ["5"]])
def test_a_select_renders_as_djangos(value):
    for fast, django_widget in (
        (FastSelect, forms.Select),
        (FastSelectMultiple, forms.SelectMultiple),
    ):
        expected = django_widget(choices=CHOICES).render("lead", value, attrs=dict(ATTRS))
        assert fast(choices=CHOICES).render("lead", value, attrs=dict(ATTRS)) == expected


def test_the_route_forms_department_pickers_render_as_djangos(db, dept_a):
    from appeals.forms import RouteForm

    form = RouteForm(initial={"lead": dept_a.pk, "co_handlers": [dept_a.pk]})
    for name in ("category", "region", "lead", "co_handlers"):
        field = form[name]
        widget = field.field.widget
        assert isinstance(widget, FastSelect | FastSelectMultiple), name
        base = forms.SelectMultiple if isinstance(widget, FastSelectMultiple) else forms.Select
        slow = base(attrs=widget.attrs, choices=widget.choices)
        assert field.as_widget() == field.as_widget(widget=slow), name
        assert f'value="{dept_a.pk}" selected' in str(form["lead"])
