"""The reports through the API (read from the replica when there is one, core.db): the board (from its latest snapshot, anonymised for
supervisors, exactly as the dashboard shows it), its 30-day trend, league tables (published
ones frozen) and the bulletin of a period with the rates' definitions; and the office's one
write, publishing a quarter's league table. The same functions and roles as the pages."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.db import replica_reads
from departments.roles import Role, has_role
from reports.boards import (
    BOARD_ROLES,
    board_anonymised_for,
    board_latest,
    board_shown,
    board_trend,
)
from reports.bulletin import bulletin_compute
from reports.league import league_compute, league_publish, quarter_bounds, quarter_of
from reports.models import LeagueTable
from reports.rates import RATE_DEFINITIONS


def _require(user, *roles: Role) -> None:
    if not has_role(user, *roles):
        raise exceptions.PermissionDenied


class BoardApi(APIView):
    """The battle map's figures from the latest snapshot (counts by colour, department,
    category and region; rates; for non-supervisors the red list and escalations)."""

    @extend_schema(
        tags=["office"],
        operation_id="board",
        responses=inline_serializer(
            "Board",
            {
                "taken_at": serializers.DateTimeField(allow_null=True),
                "anonymised": serializers.BooleanField(),
                "board": serializers.JSONField(),
                "definitions": serializers.DictField(child=serializers.CharField()),
            },
        ),
    )
    @replica_reads()
    def get(self, request):
        _require(request.user, *BOARD_ROLES)
        snapshot = board_latest()
        anonymised = board_anonymised_for(request.user)
        return Response(
            {
                "taken_at": snapshot.taken_at if snapshot else None,
                "anonymised": anonymised,
                "board": board_shown(snapshot, anonymised=anonymised),
                "definitions": RATE_DEFINITIONS,
            }
        )


class BoardTrendApi(APIView):
    """Daily totals of the last 30 days, oldest first, from the frozen daily snapshots."""

    @extend_schema(
        tags=["office"],
        operation_id="board_trend",
        responses={
            200: {
                "type": "array",
                "items": {"type": "object", "additionalProperties": True},
                "description": "One object a day: day, the board's totals, the year's rates.",
            }
        },
    )
    @replica_reads()
    def get(self, request):
        _require(request.user, *BOARD_ROLES)
        return Response(board_trend())


class LeagueApi(APIView):
    """A quarter's league table: the published one (frozen) if the office has published it,
    else the figures so far, as the league page shows them (`published` says which)."""

    @extend_schema(
        tags=["office"],
        operation_id="league",
        responses=inline_serializer(
            "League",
            {
                "quarter": serializers.CharField(),
                "published": serializers.BooleanField(),
                "published_at": serializers.DateTimeField(allow_null=True),
                "data": serializers.JSONField(),
            },
        ),
    )
    @replica_reads()
    def get(self, request, quarter: str):
        _require(request.user, *BOARD_ROLES)
        table = LeagueTable.objects.filter(quarter=quarter).first()
        if table is not None:
            return Response(
                {
                    "quarter": quarter,
                    "published": True,
                    "published_at": table.published_at,
                    "data": table.data,
                }
            )
        quarter_bounds(quarter)  # a malformed quarter is a 400
        if quarter > quarter_of(timezone.localdate()):
            raise exceptions.NotFound
        data = league_compute(quarter)
        return Response(
            {"quarter": quarter, "published": False, "published_at": None, "data": data}
        )


class BulletinApi(APIView):
    """The bulletin of a quarter (`2026Q3`) or a two-month period (`2026B5`): the rates overall
    and per department, with each rate's definition. The office and leaders."""

    @extend_schema(
        tags=["office"],
        operation_id="bulletin",
        responses=inline_serializer(
            "Bulletin",
            {
                "period": serializers.CharField(),
                "title": serializers.CharField(),
                "start": serializers.DateField(),
                "end": serializers.DateField(),
                "overall": serializers.JSONField(),
                "departments": serializers.ListField(child=serializers.DictField()),
                "definitions": serializers.DictField(child=serializers.CharField()),
            },
        ),
    )
    @replica_reads()
    def get(self, request, period: str):
        _require(request.user, Role.OFFICE, Role.LEADER)
        bulletin = bulletin_compute(period, today=timezone.localdate())
        return Response({**bulletin, "definitions": RATE_DEFINITIONS})


class LeaguePublishApi(APIView):
    """Publish (and so freeze) a finished quarter's league table. The office only, once."""

    @extend_schema(
        tags=["office"],
        operation_id="league_publish",
        request=None,
        responses=inline_serializer(
            "LeagueTable", {"quarter": serializers.CharField(), "data": serializers.JSONField()}
        ),
    )
    def post(self, request, quarter: str):
        table = league_publish(actor=request.user, quarter=quarter)
        return Response({"quarter": table.quarter, "data": table.data}, status=201)
