"""The reports through the API (read from the replica when there is one, core.db): the board (from its latest snapshot, anonymised for
supervisors, exactly as the dashboard shows it), its 30-day trend, league tables (published
ones frozen) and the bulletin of a period with the rates' definitions; and the office's one
write, publishing a quarter's league table. The same functions and roles as the pages."""

from django.http import FileResponse, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals.apis._base import valid
from appeals.selectors import appeals_visible_to
from core.db import replica_reads
from core.errors import ServiceError
from core.schema_rules import PERIOD, QUARTER, QUARTER_OR_YEAR
from departments.roles import Role, has_role
from reports.assessment.compute import assessment_year
from reports.assessment.reads import assessment_quarter
from reports.boards import (
    BOARD_ROLES,
    board_anonymised_for,
    board_latest,
    board_shown,
    board_trend_of,
)
from reports.bulletin import bulletin_compute, period_bounds
from reports.exports import InvalidFilters, filter_for_export
from reports.jobs import export_filters, export_job_for, export_job_request
from reports.league import league_compute, league_publish, quarter_bounds, quarter_of
from reports.models import ExportJob, LeagueTable
from reports.rates import RATE_DEFINITIONS
from reports.spreadsheets import CONTENT_TYPES


def _path(name: str, pattern: str, example: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, str, OpenApiParameter.PATH, pattern=pattern, description=f"e.g. {example}"
    )


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
    """Daily totals of the last 30 days, oldest first, from the frozen daily snapshots (as
    the latest live snapshot holds them: at most five minutes behind a newly frozen day)."""

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
        return Response(board_trend_of(board_latest()))


class LeagueApi(APIView):
    """A quarter's league table: the published one (frozen) if the office has published it,
    else the figures so far, as the league page shows them (`published` says which)."""

    error_statuses = ("400",)  # a quarter that is not like 2026Q3

    @extend_schema(
        tags=["office"],
        operation_id="league",
        parameters=[_path("quarter", QUARTER, "2026Q3")],
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

    error_statuses = ("400",)  # a period that is not like 2026Q3 or 2026B5

    @extend_schema(
        tags=["office"],
        operation_id="bulletin",
        parameters=[_path("period", PERIOD, "2026Q3, 2026B5")],
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

    # 400: a quarter not like 2026Q3; 409: not over yet, already published, or nobody ranked.
    error_statuses = ("400", "409")

    @extend_schema(
        tags=["office"],
        operation_id="league_publish",
        parameters=[_path("quarter", QUARTER, "2026Q3")],
        request=None,
        responses={
            201: inline_serializer(
                "LeagueTable", {"quarter": serializers.CharField(), "data": serializers.JSONField()}
            )
        },
    )
    def post(self, request, quarter: str):
        table = league_publish(actor=request.user, quarter=quarter)
        return Response({"quarter": table.quarter, "data": table.data}, status=201)


class ExportIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExportJob.Kind.choices)
    format = serializers.ChoiceField(choices=ExportJob.Format.choices, default="xlsx")
    filters = serializers.DictField(
        # Not trimmed: a value is taken as given, so that the schema's maxLength is the truth.
        child=serializers.ListField(
            child=serializers.CharField(max_length=40, trim_whitespace=False), max_length=20
        ),
        required=False,
        default=dict,
        help_text="The list's filters, each a list of values: status, colour, category, region, "
        "filed_after, filed_before; closed_after and closed_before for the closed list.",
    )
    period = serializers.CharField(
        max_length=7,
        trim_whitespace=False,
        required=False,
        default="",
        allow_blank=True,
        help_text="The bulletin's period (2026Q3).",
    )


class ExportJobOut(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "kind",
            "format",
            "status",
            "progress_count",
            "progress_total",
            "created_at",
            "finished_at",
            "expires_at",
            "file_url",
        ]

    def get_file_url(self, job) -> str | None:
        if job.status != ExportJob.Status.DONE:
            return None
        return reverse("api_export_file", args=[job.pk])


def _job(request, pk: int) -> ExportJob:
    _require(request.user, Role.OFFICE, Role.LEADER)
    job = export_job_for(request.user, pk)
    if job is None:
        raise exceptions.NotFound
    return job


class ExportJobStartApi(APIView):
    """Start an export (one of the office's lists, or the bulletin's spreadsheet) as a
    background job; poll it at `/api/v1/exports/{id}/`, download it from its `file_url`."""

    @extend_schema(
        tags=["office"],
        operation_id="export_start",
        request=ExportIn,
        responses={202: ExportJobOut},
    )
    def post(self, request):
        _require(request.user, Role.OFFICE, Role.LEADER)
        data = valid(ExportIn, request.data)
        if data["kind"] == ExportJob.Kind.BULLETIN:
            try:
                period_bounds(data["period"])
            except ServiceError as exc:
                raise exceptions.ValidationError({"period": [exc.message]}) from None
            filters = {"period": data["period"]}
            fmt = ExportJob.Format.XLSX
        else:
            params = QueryDict(mutable=True)
            for name, values in data["filters"].items():
                params.setlist(name, values)
            try:
                filter_for_export(
                    appeals_visible_to(request.user),
                    data["kind"],
                    params,
                    today=timezone.localdate(),
                )
            except InvalidFilters as exc:
                raise exceptions.ValidationError({"filters": exc.messages}) from None
            filters, fmt = export_filters(params), data["format"]
        job = export_job_request(user=request.user, kind=data["kind"], fmt=fmt, filters=filters)
        return Response(ExportJobOut(job).data, status=202)


class ExportJobApi(APIView):
    """An export job's progress: for the user who asked for it, or the office."""

    @extend_schema(tags=["office"], operation_id="export_job", responses=ExportJobOut)
    def get(self, request, pk: int):
        return Response(ExportJobOut(_job(request, pk)).data)


class ExportJobFileApi(APIView):
    """The finished export's file (410 once it has expired)."""

    @extend_schema(
        tags=["office"],
        operation_id="export_file",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request, pk: int):
        job = _job(request, pk)
        if job.status == ExportJob.Status.EXPIRED:
            return Response(
                {"code": "expired", "message": _("导出文件已过期，请重新导出。")}, status=410
            )
        if job.status != ExportJob.Status.DONE or not job.file:
            raise exceptions.NotFound
        response = FileResponse(job.file.open("rb"), content_type=CONTENT_TYPES[job.format])
        response["Content-Disposition"] = f'attachment; filename="{job.kind}-{job.pk}.{job.format}"'
        response["Cache-Control"] = "no-store"
        return response


class AssessmentApi(APIView):
    """The assessment (综合考核): a quarter's scores ("2026Q3": published and frozen, or a
    preview with `published` false) with the breakdown and the appeals behind every lost point,
    or a year's ("2026"): each department's mean of its published quarters."""

    error_statuses = ("400",)  # a period that is neither like 2026Q3 nor like 2026

    @extend_schema(
        tags=["office"],
        operation_id="assessment",
        parameters=[_path("period", QUARTER_OR_YEAR, "2026Q3, 2026")],
        responses=inline_serializer(
            "Assessment",
            {
                "period": serializers.CharField(),
                "published": serializers.BooleanField(),
                "data": serializers.JSONField(),
            },
        ),
    )
    @replica_reads()
    def get(self, request, period: str):
        _require(request.user, Role.OFFICE, Role.LEADER)
        if period.isdigit() and len(period) == 4:
            return Response(
                {"period": period, "published": True, "data": assessment_year(int(period))}
            )
        try:
            data = assessment_quarter(period)
        except ServiceError as exc:
            raise exceptions.ValidationError({"period": [exc.message]}) from None
        if data is None:
            raise exceptions.NotFound
        published = data.pop("published")
        data.pop("published_at", None)
        return Response({"period": period, "published": published, "data": data})
