"""A meeting with invited enterprises, a county government with a member, and a grid."""

import datetime as dt

import pytest

from departments.models import Department, Membership
from departments.roles import Role
from departments.services import membership_add
from engagement import services
from engagement.models import Grid, GridMember
from tests.factories import DepartmentFactory, EnterpriseFactory, RegionFactory, UserFactory


@pytest.fixture
def county(city):
    """郎溪县, a county of the city."""
    return RegionFactory(code="341821", name="郎溪县", level="county", parent=city)


@pytest.fixture
def county_gov(county) -> Department:
    return DepartmentFactory(
        code="lx", name="郎溪县人民政府", kind=Department.Kind.COUNTY_GOV, region=county
    )


@pytest.fixture
def county_staff(county_gov):
    """A member (liaison) of the county government: schedules the county's meetings."""
    user = UserFactory(username="county_staff")
    membership_add(user=user, department=county_gov, role=Membership.Role.LIAISON)
    return user


@pytest.fixture
def leader(db):
    return UserFactory(username="leader", roles=[Role.LEADER])


@pytest.fixture
def invited(county):
    return [
        EnterpriseFactory(name="郎溪宏达机械有限公司", region=county),
        EnterpriseFactory(name="郎溪绿源食品有限公司", region=county),
    ]


@pytest.fixture
def meeting(office, county, dept_a, dept_b, invited):
    return services.meeting_schedule(
        actor=office,
        kind="forum",
        title="2026年第四季度政商恳谈会",
        held_on=dt.date(2026, 11, 20),
        place="市政务服务中心三楼会议室",
        presiding_leader="李市长",
        region=county,
        departments=[dept_a, dept_b],
        enterprises=invited,
    )


@pytest.fixture
def second_commissioner(db):
    return UserFactory(username="commissioner2", first_name="专员二", roles=[Role.COMMISSIONER])


@pytest.fixture
def grid(county, commissioner):
    g = Grid.objects.create(name="郎溪经开区网格", region=county, park="郎溪经济开发区")
    g.commissioners.add(commissioner)
    return g


@pytest.fixture
def grid_enterprise(grid, county):
    enterprise = EnterpriseFactory(name="郎溪网格内企业有限公司", region=county)
    GridMember.objects.create(grid=grid, enterprise=enterprise)
    return enterprise
