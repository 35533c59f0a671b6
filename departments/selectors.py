"""Reads about organisations. Other apps call these, never the managers directly."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import CharField, Prefetch, Q
from django.db.models.functions import Concat

from core.snapshots import Snapshot
from departments.models import AuditRecord, Category, Department, Membership, Region, RoutingRule
from departments.roles import Role


@dataclass(frozen=True)
class RoutingSuggestion:
    lead: Department | None
    co_handlers: list[Department] = field(default_factory=list)
    source: str = "none"  # "rule:<region>", "category:<category>" or "none"


def routing_suggest(*, category: Category | None, region: Region | None) -> RoutingSuggestion:
    """The routing the rules propose: the most specific region rule of the category or its
    ancestors wins, then the category's (or its ancestors') default."""
    if category is None:
        return RoutingSuggestion(lead=None)
    categories = []
    node: Category | None = category
    while node is not None:
        categories.append(node)
        node = node.parent
    regions = region.lineage() if region is not None else []
    if regions:
        rules = {
            (r.category_id, r.region_id): r
            for r in RoutingRule.objects.filter(
                category__in=categories, region__in=regions
            ).select_related("lead_department")
        }
        for cat in categories:
            for reg in regions:
                rule = rules.get((cat.pk, reg.pk))
                if rule is not None and rule.lead_department.is_active:
                    return RoutingSuggestion(
                        lead=rule.lead_department,
                        co_handlers=list(rule.co_departments.filter(is_active=True)),
                        source=f"rule:{reg.name}",
                    )
    for cat in categories:
        if cat.lead_department_id and cat.lead_department.is_active:
            return RoutingSuggestion(
                lead=cat.lead_department,
                co_handlers=list(cat.co_departments.filter(is_active=True)),
                source=f"category:{cat.name}",
            )
    return RoutingSuggestion(lead=None)


def department_ids_of(user, *roles: Membership.Role) -> set[int]:
    """Departments the user belongs to (optionally only with one of `roles`), cached per user."""
    if not user.is_authenticated:
        return set()
    cache = getattr(user, "_department_ids_cache", None)
    if cache is None:
        cache = list(Membership.objects.filter(user=user).values_list("department_id", "role"))
        user._department_ids_cache = cache
    return {dept for dept, role in cache if not roles or role in roles}


def departments_of(user) -> list[Department]:
    return list(Department.objects.filter(pk__in=department_ids_of(user)).order_by("code"))


def is_member(user, department_id: int, *roles: Membership.Role) -> bool:
    return department_id in department_ids_of(user, *roles)


def is_head_of(user, department_id: int) -> bool:
    return is_member(user, department_id, Membership.Role.HEAD)


def department_by_id(department_id: int | None) -> Department | None:
    return Department.objects.filter(pk=department_id).first() if department_id else None


def active_departments():
    return Department.objects.filter(is_active=True).order_by("kind", "code")


def active_categories():
    return Category.objects.filter(is_active=True).select_related("parent")


def regions():
    return Region.objects.order_by("code")


def _choices_load() -> tuple[dict[int, Category], dict[int, Region]]:
    return {c.pk: c for c in active_categories()}, {r.pk: r for r in regions()}


# What a filing names, checked on every filing and changed a few times a year: kept per process
# (core.snapshots); departments.apps tells it when a category or a region changes. The rows are
# shared by the requests of the process: read them, never change them.
CHOICES = Snapshot("departments.choices", _choices_load)


def category_active(pk: int) -> Category | None:
    """The active category with this id (its parent loaded), or None."""
    return CHOICES.get()[0].get(pk)


def region_of(pk: int) -> Region | None:
    return CHOICES.get()[1].get(pk)


def categories_held() -> list[Category]:
    """`active_categories()` as the process holds them (CHOICES), in the same order."""
    return list(CHOICES.get()[0].values())


def regions_held() -> list[Region]:
    """`regions()` as the process holds them (CHOICES), in the same order."""
    return list(CHOICES.get()[1].values())


def category_labels(ids: Iterable[int]) -> dict[int, str]:
    """Each category's label (`str(category)`: "parent / name") by id, for a page of rows: from
    the categories the process holds (CHOICES); one that is no longer active is read."""
    held, ids = CHOICES.get()[0], set(ids)
    labels = {pk: str(held[pk]) for pk in ids if pk in held}
    missing = ids - labels.keys()
    if missing:
        found = Category.objects.filter(pk__in=missing).select_related("parent")
        labels.update({category.pk: str(category) for category in found})
    return labels


def region_ids_within(region_id: int) -> list[int]:
    """The region and every region under it (a county with its towns; the city with all). One
    query over the small region table; a tree is at most three levels deep."""
    parent_of = dict(Region.objects.values_list("pk", "parent_id"))

    def within(pk: int | None) -> bool:
        while pk is not None:
            if pk == region_id:
                return True
            pk = parent_of.get(pk)
        return False

    return [pk for pk in parent_of if within(pk)]


def counties_by_region() -> dict[int, tuple[int, str]]:
    """Each region → the region the battle map counts it under, with its name: a town
    (乡镇、街道) under its county, any other region under itself."""
    rows = {
        pk: (parent, level, name)
        for pk, parent, level, name in Region.objects.values_list(
            "pk", "parent_id", "level", "name"
        )
    }
    counted = {}
    for pk, (parent, level, name) in rows.items():
        if level == Region.Level.TOWN and parent in rows:
            counted[pk] = (parent, rows[parent][2])
        else:
            counted[pk] = (pk, name)
    return counted


def department_staff(department_id: int, *roles: Membership.Role):
    """Active users of a department, optionally only those with one of `roles`."""
    from django.contrib.auth import get_user_model

    members = Membership.objects.filter(department_id=department_id)
    if roles:
        members = members.filter(role__in=roles)
    return (
        get_user_model()
        .objects.filter(is_active=True, pk__in=members.values("user_id"))
        .order_by("pk")
    )


def departments_staff(department_ids, *roles: Membership.Role) -> dict[int, list]:
    """`department_staff` for many departments in one query: {department id: active users by
    primary key}, every department asked for present (an empty list when it has nobody)."""
    staff: dict[int, dict] = {pk: {} for pk in department_ids}
    members = Membership.objects.filter(
        department_id__in=list(staff), user__is_active=True
    ).select_related("user")
    if roles:
        members = members.filter(role__in=roles)
    for member in members:
        staff[member.department_id][member.user_id] = member.user
    return {pk: [users[u] for u in sorted(users)] for pk, users in staff.items()}


def users_with_role(role):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_active=True, groups__name=role.value).order_by("pk")


# --- the office's staff pages ---------------------------------------------------------------


def staff_accounts(*, search: str = ""):
    """Accounts the office's staff pages list: everyone but enterprise accounts, with their
    groups and memberships (3 queries: users, their groups, memberships with departments)."""
    from django.contrib.auth import get_user_model

    users = (
        get_user_model()
        .objects.exclude(groups__name=Role.ENTERPRISE.value)
        .prefetch_related(
            "groups",
            Prefetch("memberships", queryset=Membership.objects.select_related("department")),
        )
        .order_by("-is_active", "username")
    )
    if search:
        # A name as departments.names.person_name shows it: 潘海燕 is family then given name.
        users = users.annotate(
            family_given=Concat("last_name", "first_name", output_field=CharField())
        ).filter(
            Q(username__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
            | Q(family_given__icontains=search)
        )
    return users


def staff_audit_records(user, limit: int = 50):
    """The audit records about an account (created, roles granted or revoked, deactivated),
    newest first, with who made each change."""
    return (
        AuditRecord.objects.filter(object_type=user._meta.model_name, object_id=str(user.pk))
        .select_related("actor")
        .order_by("-at", "-pk")[:limit]
    )
