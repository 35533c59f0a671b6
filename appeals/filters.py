"""Allow-listed filters and orderings for appeal lists (the API and, later, the office's
pages). Anything not named here — including `__` paths — is refused with a 400."""

import django_filters

from appeals.models import Appeal, Assignment


class AppealFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Appeal.Status.choices)
    colour = django_filters.ChoiceFilter(
        choices=[("green", "green"), ("yellow", "yellow"), ("red", "red")]
    )
    channel = django_filters.ChoiceFilter(choices=Appeal.Channel.choices)
    priority = django_filters.ChoiceFilter(choices=Appeal.Priority.choices)
    category = django_filters.NumberFilter(field_name="category_id")
    region = django_filters.NumberFilter(field_name="region_id")
    filed_after = django_filters.DateFilter(field_name="filed_at", lookup_expr="date__gte")
    filed_before = django_filters.DateFilter(field_name="filed_at", lookup_expr="date__lte")
    department = django_filters.NumberFilter(method="filter_department")
    ordering = django_filters.OrderingFilter(fields=("filed_at", "closed_at", "number"))

    class Meta:
        model = Appeal
        fields = []

    def filter_department(self, queryset, name, value):
        """Appeals a department is working on now (an active assignment)."""
        return queryset.filter(
            pk__in=Assignment.objects.filter(
                department_id=value, state__in=Assignment.ACTIVE_STATES
            ).values("appeal_id")
        )
