"""The office's writes on reports through the API: publishing a quarter's league table."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.league import league_publish


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
