"""Allow-listed filters and orderings for appeal lists (the API and, later, the office's
pages). Anything not named here — including `__` paths — is refused with a 400."""

import django_filters

from appeals.models import Appeal


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
    ordering = django_filters.OrderingFilter(fields=("filed_at", "closed_at", "number"))

    class Meta:
        model = Appeal
        fields = []
