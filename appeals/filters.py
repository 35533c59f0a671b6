"""Allow-listed filters and orderings for appeal lists (the API and the office's pages).
Only these parameters filter; any other is ignored, never applied; a parameter named with a
`__` path is refused with a 400 before any view runs (config.middleware), and an ordering
outside the list is refused with a 400."""

import django_filters

from appeals.models import Appeal, Assignment
from core.params import MAX_ID
from departments.selectors import region_ids_within


class AppealFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Appeal.Status.choices)
    colour = django_filters.ChoiceFilter(
        choices=[("green", "green"), ("yellow", "yellow"), ("red", "red")]
    )
    channel = django_filters.ChoiceFilter(choices=Appeal.Channel.choices)
    priority = django_filters.ChoiceFilter(choices=Appeal.Priority.choices)
    category = django_filters.NumberFilter(field_name="category_id", min_value=1, max_value=MAX_ID)
    region = django_filters.NumberFilter(method="filter_region", min_value=1, max_value=MAX_ID)
    filed_after = django_filters.DateFilter(field_name="filed_at", lookup_expr="date__gte")
    filed_before = django_filters.DateFilter(field_name="filed_at", lookup_expr="date__lte")
    department = django_filters.NumberFilter(
        method="filter_department", min_value=1, max_value=MAX_ID
    )
    ordering = django_filters.OrderingFilter(fields=("filed_at", "closed_at", "number"))

    class Meta:
        model = Appeal
        fields = []

    def filter_region(self, queryset, name, value):
        """Appeals in the region or any region under it: a county counts with its towns."""
        return queryset.filter(region_id__in=region_ids_within(value))

    def filter_department(self, queryset, name, value):
        """Appeals a department is working on now (an active assignment)."""
        return queryset.filter(
            pk__in=Assignment.objects.filter(
                department_id=value, state__in=Assignment.ACTIVE_STATES
            ).values("appeal_id")
        )
