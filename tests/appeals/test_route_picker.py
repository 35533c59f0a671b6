"""The department pickers at triage: grouped by kind with the city's bureaus first, searchable
with the vendored Tom Select, and still a plain <select> underneath for a browser without
JavaScript."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from departments.models import Department
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


def _routing_page(commissioner, appeal) -> str:
    client = Client()
    client.force_login(commissioner)
    response = client.get(reverse("appeal_detail", args=[appeal.number]))
    assert response.status_code == 200
    return response.content.decode()


def _select(page: str, name: str) -> str:
    return re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)


def test_the_pickers_list_city_bureaus_before_counties_in_labelled_groups(
    file_appeal, commissioner, dept_a, city
):
    DepartmentFactory(code="aa-county", name="郎溪县人民政府", kind=Department.Kind.COUNTY_GOV)
    DepartmentFactory(code="zz-bureau", name="市税务局", kind=Department.Kind.MUNICIPAL)
    page = _routing_page(commissioner, file_appeal().appeal)

    for name in ("lead", "co_handlers"):
        select = _select(page, name)
        groups = re.findall(r'<optgroup label="([^"]+)">', select)
        assert groups == ["市直部门", "县市区政府"]
        assert select.index("市税务局") < select.index("郎溪县人民政府")
        assert select.index("市住建局") < select.index("市税务局")  # by code within a group


def test_the_pickers_are_searchable_with_the_vendored_library_and_native_underneath(
    file_appeal, commissioner, dept_a
):
    page = _routing_page(commissioner, file_appeal().appeal)

    co = _select(page, "co_handlers")
    assert "multiple" in co and 'data-picker="multiple"' in co
    assert 'data-picker="single"' in _select(page, "lead")
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert "/static/vendor/tom-select/tom-select.complete.min.js" in scripts
    assert "/static/js/picker.js" in scripts
    assert all(s.startswith("/static/") for s in scripts)  # nothing from a CDN
    assert "<script>" not in page  # the CSP forbids inline script


def test_the_vendored_library_is_kept_with_its_licence():
    vendor = Path(settings.BASE_DIR) / "static" / "vendor" / "tom-select"
    assert (vendor / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert "sourceMappingURL" not in (vendor / "tom-select.complete.min.js").read_text()


def test_a_department_is_still_routed_through_the_native_select(
    file_appeal, commissioner, dept_a, dept_b, category
):
    appeal = file_appeal().appeal
    client = Client()
    client.force_login(commissioner)

    response = client.post(
        reverse("appeal_route", args=[appeal.number]),
        {"category": category.pk, "lead": dept_a.pk, "co_handlers": [dept_b.pk]},
    )

    assert response.status_code == 302
    assert set(appeal.assignments.values_list("department__name", flat=True)) == {
        "市住建局",
        "市自然资源规划局",
    }
