"""routing_suggest: what the rules propose to the commissioner at triage."""

import pytest

from departments.models import Region
from departments.selectors import routing_suggest
from tests.factories import CategoryFactory, DepartmentFactory, RegionFactory, RoutingRuleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def langxi(city):
    """郎溪县, a county of the city."""
    return RegionFactory(code="341821", name="郎溪县", level=Region.Level.COUNTY, parent=city)


@pytest.fixture
def jianping(langxi):
    """建平镇, a town of 郎溪县."""
    return RegionFactory(code="341821100", name="建平镇", level=Region.Level.TOWN, parent=langxi)


@pytest.fixture
def county_government(langxi):
    return DepartmentFactory(
        code="langxi-gov", name="郎溪县人民政府", kind="county_gov", region=langxi
    )


@pytest.fixture
def land(dept_a, dept_b):
    """用地审批, a top-level category: 市住建局 leads, 市自然资源规划局 co-handles."""
    return CategoryFactory(
        code="land", name="用地审批", lead_department=dept_a, co_departments=[dept_b]
    )


@pytest.fixture
def land_transfer(land):
    """土地出让, a child of 用地审批 with no routing of its own."""
    return CategoryFactory(code="land-transfer", name="土地出让", parent=land)


def test_a_category_suggests_its_default_lead_and_co_handlers(land, city, dept_a, dept_b):
    suggestion = routing_suggest(category=land, region=city)

    assert suggestion.lead == dept_a
    assert suggestion.co_handlers == [dept_b]
    assert suggestion.source == "category:用地审批"


def test_a_child_category_inherits_its_parents_default(land_transfer, city, dept_a, dept_b):
    suggestion = routing_suggest(category=land_transfer, region=city)

    assert suggestion.lead == dept_a
    assert suggestion.co_handlers == [dept_b]
    assert suggestion.source == "category:用地审批"


def test_a_child_categorys_own_default_beats_its_parents(land, dept_b, city):
    child = CategoryFactory(code="land-survey", parent=land, lead_department=dept_b)

    suggestion = routing_suggest(category=child, region=city)

    assert suggestion.lead == dept_b
    assert suggestion.co_handlers == []


def test_a_region_rule_overrides_the_category_default(land, langxi, county_government, dept_b):
    RoutingRuleFactory(
        category=land, region=langxi, lead_department=county_government, co_departments=[dept_b]
    )

    suggestion = routing_suggest(category=land, region=langxi)

    assert suggestion.lead == county_government
    assert suggestion.co_handlers == [dept_b]
    assert suggestion.source == "rule:郎溪县"


def test_a_county_rule_applies_to_a_town_below_it(land, langxi, jianping, county_government):
    RoutingRuleFactory(category=land, region=langxi, lead_department=county_government)

    suggestion = routing_suggest(category=land, region=jianping)

    assert suggestion.lead == county_government
    assert suggestion.source == "rule:郎溪县"


def test_a_town_rule_beats_the_county_rule_above_it(land, langxi, jianping, county_government):
    town_office = DepartmentFactory(code="jianping", name="建平镇人民政府", kind="town")
    RoutingRuleFactory(category=land, region=langxi, lead_department=county_government)
    RoutingRuleFactory(category=land, region=jianping, lead_department=town_office)

    assert routing_suggest(category=land, region=jianping).lead == town_office
    assert routing_suggest(category=land, region=langxi).lead == county_government


def test_a_parents_region_rule_applies_to_a_child_category(
    land, land_transfer, langxi, county_government
):
    RoutingRuleFactory(category=land, region=langxi, lead_department=county_government)

    assert routing_suggest(category=land_transfer, region=langxi).lead == county_government


def test_a_rule_for_one_county_does_not_apply_to_another(
    land, langxi, county_government, city, dept_a
):
    guangde = RegionFactory(code="341882", name="广德市", level=Region.Level.COUNTY, parent=city)
    RoutingRuleFactory(category=land, region=langxi, lead_department=county_government)

    suggestion = routing_suggest(category=land, region=guangde)

    assert suggestion.lead == dept_a
    assert suggestion.source == "category:用地审批"


def test_without_a_region_the_category_default_applies(land, langxi, county_government, dept_a):
    RoutingRuleFactory(category=land, region=langxi, lead_department=county_government)

    assert routing_suggest(category=land, region=None).lead == dept_a


def test_inactive_co_handlers_are_not_suggested(land, dept_b, city):
    dept_b.is_active = False
    dept_b.save()

    assert routing_suggest(category=land, region=city).co_handlers == []


def test_no_category_means_no_suggestion(city):
    suggestion = routing_suggest(category=None, region=city)

    assert suggestion.lead is None
    assert suggestion.co_handlers == []
    assert suggestion.source == "none"


def test_a_category_tree_without_any_default_suggests_nothing(city):
    root = CategoryFactory(code="other")
    child = CategoryFactory(code="other-misc", parent=root)

    suggestion = routing_suggest(category=child, region=city)

    assert (suggestion.lead, suggestion.source) == (None, "none")
