"""Staff search in the API (issue #18): the page's search, scoped the same way, throttled."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics
from rest_framework.throttling import ScopedRateThrottle

from appeals.apis._base import require_staff
from appeals.filters import AppealFilter
from appeals.models import Appeal
from appeals.search import SearchRefused, appeals_search, highlight, parse_query
from appeals.serializers import SearchHitOut


@extend_schema(
    tags=["staff"],
    parameters=[
        OpenApiParameter(
            "q",
            str,
            required=True,
            description="A registration number, a credit code, a phone number (matched, never "
            "shown) or words (Chinese or English) of the title, content, enterprise or replies.",
        )
    ],
)
class AppealSearchApi(generics.ListAPIView):
    """Appeals the caller may open that match `q`, newest first, with the list's filters; a
    query with nothing to search by (empty, one character, punctuation, too long) is a 400
    with the reason."""

    serializer_class = SearchHitOut
    filterset_class = AppealFilter
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "search"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the view
            return Appeal.objects.none()
        require_staff(self.request.user)
        try:
            self.query = parse_query(self.request.query_params.get("q", ""))
        except SearchRefused as refused:
            raise exceptions.ValidationError({"q": [refused.message]}) from None
        return appeals_search(self.request.user, self.query)

    def paginate_queryset(self, queryset):
        # Highlighting only for the rows of the page, after the filters and the paging.
        page = super().paginate_queryset(queryset)
        words = self.query.words if self.query.kind == "text" else ()
        for appeal in page or []:
            appeal.hit_title = highlight(appeal.title, words)
            appeal.hit_snippet = highlight(appeal.content, words, around=30)
        return page
