"""The demo city: regions, departments (seed 004), categories and routing rules, the demo
logins, and about 200 enterprises with valid credit codes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from appeals.demo.texts import (
    BRANDS,
    COUNTY_INDUSTRIES,
    COUNTY_SHORT,
    GIVEN_NAMES,
    INDUSTRIES,
    SURNAMES,
)
from appeals.models import Enterprise, EnterpriseTag
from appeals.validators import CREDIT_CODE_CHARSET, credit_code_check_char, validate_credit_code
from departments.models import Category, Department, Membership, Region, RoutingRule
from departments.roles import Role
from departments.services import membership_add, user_grant_role

PASSWORD = "demo1234"  # noqa: S105 - the documented demo password, printed at the end
MARKER_USERNAME = "office"  # if this login exists, the demo has been built
ENTERPRISE_COUNT = 200

# ---------------------------------------------------------------------------------------------
# Organisations (seed 004)
# ---------------------------------------------------------------------------------------------

CITY = ("341800", "宣城市")
# Region code, name, code of its government (a department), its development zone.
COUNTIES = [
    ("341802", "宣州区", "xz", "宣城经济技术开发区"),
    ("341821", "郎溪县", "lx", "郎溪经济开发区"),
    ("341882", "广德市", "gd", "广德经济开发区"),
    ("341881", "宁国市", "ng", "宁国经济技术开发区"),
    ("341823", "泾县", "jx", "泾县经济开发区"),
    ("341824", "绩溪县", "jix", "绩溪经济开发区"),
    ("341825", "旌德县", "jd", "旌德经济开发区"),
]
TOWNS = [  # under 宣州区
    ("341802001000", "西林街道"),
    ("341802002000", "澄江街道"),
    ("341802105000", "水阳镇"),
]
_K = Department.Kind
MUNICIPAL_DEPARTMENTS = [
    ("sjj", "市数据资源局", _K.MUNICIPAL),
    ("zjj", "市住建局", _K.MUNICIPAL),
    ("zrj", "市自然资源规划局", _K.MUNICIPAL),
    ("fgw", "市发改委", _K.MUNICIPAL),
    ("scj", "市市场监管局", _K.MUNICIPAL),
    ("rsj", "市人社局", _K.MUNICIPAL),
    ("czj", "市财政局", _K.MUNICIPAL),
    ("sfj", "市司法局", _K.MUNICIPAL),
    ("swj", "市税务局", _K.MUNICIPAL),
    ("jtj", "市交通运输局", _K.MUNICIPAL),
    ("gxj", "市工信局", _K.MUNICIPAL),
    ("swuj", "市商务局", _K.MUNICIPAL),
    ("gdgs", "市供电公司", _K.UTILITY),
    ("jkq", "宣城经开区管委会", _K.DEV_ZONE),
]
DEPARTMENT_CODES = [code for code, _name, _kind in MUNICIPAL_DEPARTMENTS] + [
    gov for _code, _name, gov, _zone in COUNTIES
]

# Code, name, default lead, default co-handlers, children (same shape, no grandchildren).
_Child = tuple[str, str, str | None, list[str]]
CATEGORIES: list[tuple[str, str, str | None, list[str], list[_Child]]] = [
    (
        "land",
        "用地",
        "zrj",
        ["zjj"],
        [
            ("land-supply", "土地供应", None, []),
            ("land-registration", "不动产登记", "zrj", ["swj"]),
        ],
    ),
    ("labour", "用工", "rsj", [], []),
    ("finance", "融资", "czj", ["fgw"], []),
    (
        "utilities",
        "水电气网",
        "gdgs",
        ["zjj"],
        [
            ("utilities-power", "用电报装", "gdgs", []),
            ("utilities-water-gas", "供水供气", "zjj", []),
        ],
    ),
    (
        "approval",
        "审批服务",
        "sjj",
        [],
        [
            ("approval-construction", "工程建设项目审批", "zjj", ["sjj"]),
            ("approval-tax", "涉税办理", "swj", []),
        ],
    ),
    ("policy", "政策兑现", "fgw", ["czj"], [("policy-trade", "外贸扶持政策", "swuj", ["czj"])]),
    ("enforcement", "涉企执法", "sfj", [], []),
    ("arrears", "拖欠账款", "gxj", ["czj"], []),
    ("ip", "知识产权", "scj", [], []),
    ("competition", "公平竞争", "scj", [], []),
    ("other", "其他", None, [], []),
]
CATEGORY_CODES = [c[0] for c in CATEGORIES] + [ch[0] for c in CATEGORIES for ch in c[4]]

# Category × region overrides: the county government leads matters that are handled locally.
ROUTING_RULES = [
    ("land", "341882", "gd", ["zrj"]),
    ("land-supply", "341802", "jkq", ["zrj"]),
    ("labour", "341881", "ng", ["rsj"]),
    ("utilities", "341823", "jx", ["gdgs"]),
    ("arrears", "341802", "xz", ["gxj"]),
    ("approval-construction", "341821", "lx", ["zjj"]),
]

# Share of enterprises per county (宣州区 includes its towns).
COUNTY_WEIGHTS = {
    "341802": 30,
    "341821": 10,
    "341882": 15,
    "341881": 15,
    "341823": 10,
    "341824": 10,
    "341825": 10,
}
TAG_WEIGHTS = {
    "sishang": 40,
    "high_tech": 25,
    "specialised": 15,
    "agri_leader": 8,
    "key_trade": 7,
    "key_project": 5,
}


def demo_usernames() -> list[str]:
    names = ["office", "admin", "leader", "supervisor", "supervisor2"]
    names += [f"commissioner{i}" for i in range(1, 4)]
    names += [f"{code}_{suffix}" for code in DEPARTMENT_CODES for suffix in ("handler", "head")]
    names += [f"enterprise{i}" for i in range(1, 6)]
    return names


def demo_region_codes() -> list[str]:
    return [CITY[0]] + [c[0] for c in COUNTIES] + [t[0] for t in TOWNS]


@dataclass
class City:
    """What `build_city` made, looked up by the stories."""

    regions: dict[str, Region] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    county_gov: dict[str, Department] = field(default_factory=dict)  # by county region code
    categories: dict[str, Category] = field(default_factory=dict)
    handler: dict[int, Any] = field(default_factory=dict)  # by department pk
    head: dict[int, Any] = field(default_factory=dict)
    commissioners: list = field(default_factory=list)
    enterprises: list[Enterprise] = field(default_factory=list)
    enterprise_accounts: list[Enterprise] = field(default_factory=list)
    enterprise_users: list = field(default_factory=list)
    office: Any = None

    def commissioner_for(self, obj):
        """The enterprise's (or appeal's) commissioner, as one of our own user objects: their
        roles are cached per object, so reusing them saves a query per service call."""
        commissioner_id = getattr(obj, "commissioner_id", None)
        return next((c for c in self.commissioners if c.pk == commissioner_id), None)

    def county_gov_of(self, region: Region) -> Department:
        for node in region.lineage():
            if node.code in self.county_gov:
                return self.county_gov[node.code]
        return self.departments["jkq"]  # the city itself: the development zone


def build_city(*, rng: random.Random, limit: datetime) -> City:
    """Creates or updates the city's rows. `limit` is the real now, which the enterprises'
    creation dates lie before."""
    return _CityBuilder(rng=rng, limit=limit).build()


class _CityBuilder:
    def __init__(self, *, rng: random.Random, limit: datetime):
        self.rng = rng
        self.limit = limit
        self.password_hash = make_password(PASSWORD)  # one PBKDF2 run, not ~60
        self.city = City()

    def build(self) -> City:
        self._regions()
        self._departments()
        self._categories()
        self._users()
        self._enterprises()
        return self.city

    def _regions(self) -> None:
        city_region, _ = Region.objects.update_or_create(
            code=CITY[0], defaults={"name": CITY[1], "level": Region.Level.CITY, "parent": None}
        )
        self.city.regions[city_region.code] = city_region
        for code, name, _gov, _zone in COUNTIES:
            self.city.regions[code], _ = Region.objects.update_or_create(
                code=code,
                defaults={"name": name, "level": Region.Level.COUNTY, "parent": city_region},
            )
        for code, name in TOWNS:
            self.city.regions[code], _ = Region.objects.update_or_create(
                code=code,
                defaults={
                    "name": name,
                    "level": Region.Level.TOWN,
                    "parent": self.city.regions["341802"],
                },
            )

    def _departments(self) -> None:
        city_region = self.city.regions[CITY[0]]
        for code, name, kind in MUNICIPAL_DEPARTMENTS:
            self.city.departments[code], _ = Department.objects.update_or_create(
                code=code,
                defaults={"name": name, "kind": kind, "region": city_region, "is_active": True},
            )
        for region_code, region_name, gov, _zone in COUNTIES:
            department, _ = Department.objects.update_or_create(
                code=gov,
                defaults={
                    "name": f"{region_name}人民政府",
                    "kind": Department.Kind.COUNTY_GOV,
                    "region": self.city.regions[region_code],
                    "is_active": True,
                },
            )
            self.city.departments[gov] = self.city.county_gov[region_code] = department

    def _categories(self) -> None:
        def make(code, name, lead, cos, parent, order):
            category, _ = Category.objects.update_or_create(
                code=code,
                defaults={
                    "name": name,
                    "parent": parent,
                    "lead_department": self.city.departments[lead] if lead else None,
                    "sort_order": order,
                    "is_active": True,
                },
            )
            category.co_departments.set([self.city.departments[c] for c in cos])
            self.city.categories[code] = category
            return category

        for order, (code, name, lead, cos, children) in enumerate(CATEGORIES, start=1):
            parent = make(code, name, lead, cos, None, order * 10)
            for child_order, (c_code, c_name, c_lead, c_cos) in enumerate(children, start=1):
                make(c_code, c_name, c_lead, c_cos, parent, order * 10 + child_order)
        for category, region, lead, cos in ROUTING_RULES:
            rule, _ = RoutingRule.objects.update_or_create(
                category=self.city.categories[category],
                region=self.city.regions[region],
                defaults={"lead_department": self.city.departments[lead]},
            )
            rule.co_departments.set([self.city.departments[c] for c in cos])

    def _user(self, username: str, *, staff: bool = False, superuser: bool = False):
        last_name, first_name = _person(self.rng)
        user, _ = get_user_model().objects.update_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                # No address: the services e-mail staff who have one, and the replayed 60 days
                # would add ~1,200 e-mails to made-up addresses. In-app notifications still show.
                "email": "",
                "is_staff": staff or superuser,
                "is_superuser": superuser,
                "is_active": True,
                # The same hash for every demo login: hashing ~60 times would take ~20 s.
                "password": self.password_hash,
            },
        )
        return user

    def _users(self) -> None:
        User = get_user_model()
        user_grant_role(user=self._user("office", staff=True), role=Role.OFFICE)
        self._user("admin", superuser=True)
        user_grant_role(user=self._user("leader"), role=Role.LEADER)
        user_grant_role(user=self._user("supervisor"), role=Role.SUPERVISOR)
        user_grant_role(user=self._user("supervisor2"), role=Role.SUPERVISOR)
        for i in range(1, 4):
            user_grant_role(user=self._user(f"commissioner{i}"), role=Role.COMMISSIONER)
        for code, department in self.city.departments.items():
            for suffix, role in (
                ("handler", Membership.Role.HANDLER),
                ("head", Membership.Role.HEAD),
            ):
                membership_add(
                    user=self._user(f"{code}_{suffix}"), department=department, role=role
                )
        # Fresh objects: roles and memberships are cached on user instances once read.
        self.city.office = User.objects.get(username="office")
        self.city.commissioners = list(
            User.objects.filter(username__in=[f"commissioner{i}" for i in range(1, 4)]).order_by(
                "username"
            )
        )
        staff = {
            u.username: u
            for u in User.objects.filter(
                username__in=[
                    f"{c}_{s}" for c in self.city.departments for s in ("handler", "head")
                ]
            )
        }
        for code, department in self.city.departments.items():
            self.city.handler[department.pk] = staff[f"{code}_handler"]
            self.city.head[department.pk] = staff[f"{code}_head"]

    def _enterprises(self) -> None:
        rng = self.rng
        tags = {t.code: t for t in EnterpriseTag.objects.all()}
        tag_codes = [c for c in TAG_WEIGHTS if c in tags]
        counties = list(COUNTY_WEIGHTS)
        names: set[str] = set()
        key_count = 0
        for _i in range(ENTERPRISE_COUNT):
            county = rng.choices(counties, weights=list(COUNTY_WEIGHTS.values()))[0]
            region = self.city.regions[county]
            if county == "341802" and rng.random() < 0.4:
                region = self.city.regions[rng.choice(TOWNS)[0]]
            while True:
                prefix = rng.choice(["安徽", "宣城", COUNTY_SHORT[county]])
                industry = rng.choice(
                    COUNTY_INDUSTRIES[county] if rng.random() < 0.4 else INDUSTRIES
                )
                suffix = rng.choices(
                    ["有限公司", "股份有限公司", "有限责任公司"], weights=[8, 1, 1]
                )[0]
                name = f"{prefix}{rng.choice(BRANDS)}{industry}{suffix}"
                if name not in names:
                    names.add(name)
                    break
            credit_code = _credit_code(rng, county)
            validate_credit_code(credit_code)
            chosen_tags = []
            if tag_codes and rng.random() < 0.4:
                chosen_tags = sorted(
                    set(
                        rng.choices(
                            tag_codes,
                            weights=[TAG_WEIGHTS[c] for c in tag_codes],
                            k=rng.choice([1, 1, 2]),
                        )
                    )
                )
            commissioner = None
            if chosen_tags and self.city.commissioners:
                commissioner = self.city.commissioners[key_count % len(self.city.commissioners)]
                key_count += 1
            last_name, first_name = _person(rng)
            enterprise, _ = Enterprise.objects.update_or_create(
                credit_code=credit_code,
                defaults={
                    "name": name,
                    "region": region,
                    "commissioner": commissioner,
                    "contact_name": last_name + first_name,
                    "contact_phone": _mobile(rng),
                    "created_at": self.limit - timedelta(days=rng.uniform(90, 900)),
                },
            )
            enterprise.tags.set([tags[c] for c in chosen_tags])
            self.city.enterprises.append(enterprise)
        # Two key enterprises (with a commissioner) and three ordinary ones get a login.
        keyed = [e for e in self.city.enterprises if e.commissioner_id]
        plain = [e for e in self.city.enterprises if not e.commissioner_id]
        self.city.enterprise_accounts = keyed[:2] + plain[:3]
        User = get_user_model()
        for i, enterprise in enumerate(self.city.enterprise_accounts, start=1):
            user = self._user(f"enterprise{i}")
            user.last_name, user.first_name = (
                enterprise.contact_name[0],
                enterprise.contact_name[1:],
            )
            user.save(update_fields=["last_name", "first_name"])
            user_grant_role(user=user, role=Role.ENTERPRISE)
            enterprise.users.add(user)
        self.city.enterprise_users = [
            User.objects.get(username=f"enterprise{i}")
            for i in range(1, len(self.city.enterprise_accounts) + 1)
        ]


def _person(rng: random.Random) -> tuple[str, str]:
    """(last_name, first_name)."""
    return rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)


def _mobile(rng: random.Random) -> str:
    return "1" + rng.choice("35789") + "".join(rng.choice("0123456789") for _ in range(9))


def _credit_code(rng: random.Random, county_code: str) -> str:
    first17 = "91" + county_code + "".join(rng.choice(CREDIT_CODE_CHARSET) for _ in range(9))
    return first17 + credit_code_check_char(first17)
