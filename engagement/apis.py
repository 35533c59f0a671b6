"""Meetings and coverage through the API, read-only: the same selectors and rules as the
pages (a department sees the meetings it took part in and, of their appeals, only those
routed to it; a commissioner the coverage of their own grids)."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals.apis._base import require_staff, valid
from core.db import ReplicaListMixin
from engagement.actions import may_see_grids
from engagement.models import Meeting, MeetingAppeal
from engagement.selectors import (
    COVERAGE_DEFAULT_DAYS,
    COVERAGE_MAX_DAYS,
    coverage,
    meeting_appeals_for,
    meeting_get_visible,
    meeting_list,
    meeting_tally,
)


class MeetingOut(serializers.ModelSerializer):
    region = serializers.CharField(source="region.name")
    organiser = serializers.CharField(source="organiser.name", allow_null=True, default=None)

    class Meta:
        model = Meeting
        fields = [
            "id",
            "kind",
            "title",
            "held_on",
            "place",
            "presiding_leader",
            "region",
            "organiser",
        ]


class MeetingAppealOut(serializers.ModelSerializer):
    number = serializers.CharField(source="appeal.number")
    title = serializers.CharField(source="appeal.title")
    enterprise = serializers.CharField(source="appeal.display_enterprise")
    status = serializers.CharField(source="appeal.status")
    colour = serializers.CharField(
        source="appeal.colour", help_text="red, yellow, green; empty once the appeal has ended."
    )
    proposed_lead = serializers.CharField(
        source="proposed_lead.name", allow_null=True, default=None
    )

    class Meta:
        model = MeetingAppeal
        fields = ["number", "title", "enterprise", "status", "colour", "proposed_lead"]


class TallyOut(serializers.Serializer):
    total = serializers.IntegerField()
    open = serializers.IntegerField()
    all_closed = serializers.BooleanField()
    by_colour = serializers.DictField(child=serializers.IntegerField())
    by_status = serializers.DictField(child=serializers.IntegerField())


class MeetingDetailOut(MeetingOut):
    departments = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    enterprises = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    appeals = MeetingAppealOut(many=True, source="visible_rows")
    tally = TallyOut()

    class Meta(MeetingOut.Meta):
        fields = [*MeetingOut.Meta.fields, "departments", "enterprises", "appeals", "tally"]


@extend_schema_view(get=extend_schema(tags=["engagement"], operation_id="meeting_list"))
class MeetingListApi(ReplicaListMixin, generics.ListAPIView):
    """The meetings the caller may see, latest first."""

    serializer_class = MeetingOut
    filter_backends: list[type] = []

    def get_queryset(self):
        require_staff(self.request.user)
        return meeting_list(self.request.user)


class MeetingDetailApi(APIView):
    """One meeting with the appeals raised at it that the caller may see, each with its
    status and colour, and the tally of those appeals."""

    @extend_schema(tags=["engagement"], operation_id="meeting_detail", responses=MeetingDetailOut)
    def get(self, request, pk: int):
        require_staff(request.user)
        meeting = meeting_get_visible(request.user, pk)
        rows = meeting_appeals_for(request.user, meeting)
        meeting.visible_rows = rows
        meeting.tally = meeting_tally(rows)
        return Response(MeetingDetailOut(meeting).data)


class CoverageQueryIn(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1,
        max_value=COVERAGE_MAX_DAYS,
        required=False,
        default=COVERAGE_DEFAULT_DAYS,
        help_text="The window, in working days up to today.",
    )


class UncoveredOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    credit_code = serializers.CharField()
    grid = serializers.CharField(source="grid_name")
    commissioner = serializers.CharField(
        source="commissioner.username", allow_null=True, default=None
    )
    last_contact = serializers.DateField(allow_null=True)


class CountOut(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


class CoverageOut(serializers.Serializer):
    days = serializers.IntegerField()
    since = serializers.DateField()
    key_total = serializers.IntegerField()
    uncovered = UncoveredOut(many=True)
    by_grid = CountOut(many=True)
    by_commissioner = CountOut(many=True)


class CoverageApi(APIView):
    """Key enterprises not contacted in the last `days` working days, by grid and by
    commissioner. The office and leaders see all; a commissioner their own grids."""

    error_statuses = ("400",)

    @extend_schema(
        tags=["engagement"],
        operation_id="coverage",
        parameters=[CoverageQueryIn],
        responses=CoverageOut,
    )
    def get(self, request):
        if not may_see_grids(request.user):
            raise exceptions.PermissionDenied
        query = valid(CoverageQueryIn, request.query_params)
        result = coverage(request.user, days=query["days"], today=timezone.localdate())
        return Response(
            CoverageOut(
                {
                    "days": result.days,
                    "since": result.since,
                    "key_total": result.key_total,
                    "uncovered": result.uncovered,
                    "by_grid": [{"name": n, "count": c} for n, c in result.by_grid],
                    "by_commissioner": [{"name": n, "count": c} for n, c in result.by_commissioner],
                }
            ).data
        )
