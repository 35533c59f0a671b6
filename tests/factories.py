"""factory_boy factories for organisations, people and enterprises.

Roles and memberships go through `departments.services`, the way the application grants them,
so a factory-made user has exactly the groups a real one would.
"""

import factory
from django.contrib.auth import get_user_model

from appeals.models import Enterprise
from appeals.validators import CREDIT_CODE_CHARSET, credit_code_check_char
from departments.models import Category, Department, Membership, Region, RoutingRule
from departments.services import membership_add, user_grant_role

XUANCHENG_REGION_CODE = "341802"  # 宣州区, the administrative code in positions 3–8


def credit_code(body: str, *, prefix: str = "91", region: str = XUANCHENG_REGION_CODE) -> str:
    """A valid 18-character credit code: prefix + region + 9-character body + check char."""
    first17 = f"{prefix}{region}{body}"
    return first17 + credit_code_check_char(first17)


def credit_code_body(n: int) -> str:
    """The n-th 9-character body, "MA" and 7 base-31 digits, so every factory code differs."""
    base = len(CREDIT_CODE_CHARSET)
    digits = []
    for _ in range(7):
        n, digit = divmod(n, base)
        digits.append(CREDIT_CODE_CHARSET[digit])
    return "MA" + "".join(reversed(digits))


class UserFactory(factory.django.DjangoModelFactory):
    """A user; `UserFactory(roles=[Role.OFFICE])` grants role groups through user_grant_role."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "测试"
    password = factory.django.Password("pass-for-tests")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            user_grant_role(user=self, role=role)


class RegionFactory(factory.django.DjangoModelFactory):
    """A region, a city by default; pass level= and parent= for counties and towns."""

    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"34{n:07d}")
    name = factory.Sequence(lambda n: f"区划{n}")
    level = Region.Level.CITY


class DepartmentFactory(factory.django.DjangoModelFactory):
    """An active municipal department in its own region."""

    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dept-{n}")
    name = factory.Sequence(lambda n: f"市第{n}局")
    kind = Department.Kind.MUNICIPAL
    region = factory.SubFactory(RegionFactory)
    is_active = True


class CategoryFactory(factory.django.DjangoModelFactory):
    """A category with no default routing; pass lead_department= and co_departments=[…]."""

    class Meta:
        model = Category
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"category-{n}")
    name = factory.Sequence(lambda n: f"分类{n}")

    @factory.post_generation
    def co_departments(self, create, extracted, **kwargs):
        if extracted:
            self.co_departments.set(extracted)


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    """A region rule overriding a category's routing; pass co_departments=[…] for co-handlers."""

    class Meta:
        model = RoutingRule
        skip_postgeneration_save = True

    category = factory.SubFactory(CategoryFactory)
    region = factory.SubFactory(RegionFactory)
    lead_department = factory.SubFactory(DepartmentFactory)

    @factory.post_generation
    def co_departments(self, create, extracted, **kwargs):
        if extracted:
            self.co_departments.set(extracted)


class MembershipFactory(factory.django.DjangoModelFactory):
    """A user's place in a department, made by membership_add (so the role group follows)."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    department = factory.SubFactory(DepartmentFactory)
    role = Membership.Role.HANDLER

    @classmethod
    def _create(cls, model_class, *, user, department, role):
        return membership_add(user=user, department=department, role=role)


class EnterpriseFactory(factory.django.DjangoModelFactory):
    """An enterprise with a valid credit code; `EnterpriseFactory(users=[u])` links accounts."""

    class Meta:
        model = Enterprise
        django_get_or_create = ("credit_code",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"宣城示范科技有限公司{n}")
    credit_code = factory.Sequence(lambda n: credit_code(credit_code_body(n)))
    contact_name = "王经理"
    contact_phone = "13905630000"

    @factory.post_generation
    def users(self, create, extracted, **kwargs):
        if extracted:
            self.users.set(extracted)
