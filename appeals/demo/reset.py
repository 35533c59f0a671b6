"""Deleting the demo, for `demo_data --reset`."""

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Q

from appeals.demo.city import CATEGORY_CODES, DEPARTMENT_CODES, demo_region_codes, demo_usernames
from appeals.demo.hooks import demo_deleting
from appeals.models import Appeal, Enterprise, NumberSequence, Reply
from departments.models import Category, Department, Region


def demo_delete() -> int:
    """Deletes the demo's users, departments, categories, regions, and the enterprises and
    appeals in those regions; returns how many appeals went. Raises `ProtectedError` if data
    outside the demo still refers to it (call it in a transaction, so nothing half goes)."""
    regions = Region.objects.filter(code__in=demo_region_codes())
    users = get_user_model().objects.filter(username__in=demo_usernames())
    demo_deleting.send(sender=None, users=users)
    enterprises = Enterprise.objects.filter(region__in=regions)
    appeals = Appeal.objects.filter(
        Q(region__in=regions)
        | Q(enterprise__in=enterprises)
        | Q(category__code__in=CATEGORY_CODES)
        | Q(filed_by__in=users)
        | Q(assignments__department__code__in=DEPARTMENT_CODES)
    )
    appeal_ids = set(appeals.values_list("pk", flat=True))
    # Appeals merged into a deleted one go too, or the merge link would protect it.
    while True:
        more = set(
            Appeal.objects.filter(merged_into__in=appeal_ids)
            .exclude(pk__in=appeal_ids)
            .values_list("pk", flat=True)
        )
        if not more:
            break
        appeal_ids |= more
    # Replies protect their assignment and duplicates protect the appeal they were merged
    # into, and Django refuses PROTECT even when both sides go in one delete: delete the
    # replies, then the duplicates, then the rest.
    Reply.objects.filter(appeal__in=appeal_ids).delete()
    Appeal.objects.filter(pk__in=appeal_ids, merged_into__isnull=False).delete()
    Appeal.objects.filter(pk__in=appeal_ids).delete()
    # History rows outlive their objects (no foreign keys): remove the demo's too.
    Appeal.history.filter(id__in=appeal_ids).delete()
    for model in apps.get_app_config("appeals").get_models():
        history = getattr(model, "history", None)
        if history is not None and model is not Appeal and _has_field(model, "appeal"):
            history.filter(appeal_id__in=appeal_ids).delete()
    if not Appeal.objects.exists():
        # Numbers start again at 000001 only when no appeal is left to clash with.
        NumberSequence.objects.all().delete()
    enterprises.delete()
    users.delete()
    Category.objects.filter(code__in=CATEGORY_CODES, parent__isnull=False).delete()
    Category.objects.filter(code__in=CATEGORY_CODES).delete()
    Department.objects.filter(code__in=DEPARTMENT_CODES).delete()
    for level in (Region.Level.TOWN, Region.Level.COUNTY, Region.Level.CITY):
        regions.filter(level=level).delete()
    return len(appeal_ids)


def _has_field(model, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())
