"""Staff search (issue #18): one page, scoped by appeals_visible_to through appeals.search."""

from typing import cast

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import render
from django.utils.functional import cached_property

from appeals.filters import AppealFilter
from appeals.models import Appeal
from appeals.search import SearchRefused, appeals_search, parse_query, search_hits
from appeals.views.access import staff_required
from departments.selectors import active_categories, active_departments, regions

PAGE_SIZE = 25
# Counting every match reads every match: common words at 1,000,000 appeals match ~14,000
# (30-40 ms of the page, bench/README.md). Nobody pages through more than 40 pages; the page
# says "more than 1,000" and asks for a narrower search.
COUNT_CAP = 1000


class CappedPaginator(Paginator):
    """Counts up to COUNT_CAP + 1 matches (unordered: counting needs no sort), and pages
    through the first COUNT_CAP; `capped` says there were more."""

    @cached_property
    def count(self) -> int:
        return min(self._found, COUNT_CAP)

    @cached_property
    def capped(self) -> bool:
        return self._found > COUNT_CAP

    @cached_property
    def _found(self) -> int:
        matches = cast(QuerySet, self.object_list)  # appeals_search's queryset
        return matches.order_by()[: COUNT_CAP + 1].count()


@staff_required
def appeal_search_view(request):
    raw = request.GET.get("q", "")
    context = {
        "q": raw[:200],
        "categories": active_categories(),
        "regions": regions(),
        "departments": active_departments(),
        "statuses": Appeal.Status.choices,
        "chosen_statuses": request.GET.getlist("status"),
    }
    status = 200
    if "q" in request.GET:
        try:
            query = parse_query(raw)
        except SearchRefused as refused:
            context["refused"] = refused.message
            status = 400
        else:
            filtered = AppealFilter(request.GET, queryset=appeals_search(request.user, query))
            if not filtered.is_valid():
                context["refused"] = filtered.errors
                status = 400
            else:
                paginator = CappedPaginator(filtered.qs, PAGE_SIZE)
                page = paginator.get_page(request.GET.get("page"))
                context.update(searched=True, page=page, hits=search_hits(page, query), query=query)
    return render(request, "appeals/search.html", context, status=status)
