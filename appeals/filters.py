"""Allow-listed filters and orderings for appeal lists (the API and the office's pages).
Only these parameters filter; any other is ignored, never applied; a parameter named with a
`__` path is refused with a 400 before any view runs (config.middleware), and an ordering
outside the list is refused with a 400."""

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appeals.models import Appeal, Assignment
from core.params import MAX_ID
from departments.selectors import region_ids_within


@extend_schema_field(serializers.IntegerField(min_value=1, max_value=MAX_ID))
class IdFilter(django_filters.NumberFilter):
    """A row id: a whole number from 1 (`1.5`, `0` or `null` is a 400, not a silent no-filter);
    the schema says so from the same bounds."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


class AppealFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Appeal.Status.choices)
    colour = django_filters.ChoiceFilter(
        choices=[("green", "green"), ("yellow", "yellow"), ("red", "red")]
    )
    channel = django_filters.ChoiceFilter(choices=Appeal.Channel.choices)
    priority = django_filters.ChoiceFilter(choices=Appeal.Priority.choices)
    category = IdFilter(field_name="category_id")
    region = IdFilter(method="filter_region")
    filed_after = django_filters.DateFilter(field_name="filed_at", lookup_expr="date__gte")
    filed_before = django_filters.DateFilter(field_name="filed_at", lookup_expr="date__lte")
    department = IdFilter(method="filter_department")
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
