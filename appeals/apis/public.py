"""The enterprise's side of the API: file (public, throttled, idempotent), track by number and
query code, rate, supply material; an enterprise account's own appeals."""

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from appeals import services
from appeals.apis._base import public_view, valid
from appeals.selectors import appeal_find_by_code, idempotency_receipt_stored, my_appeals
from appeals.serializers import (
    AppealListOut,
    AppealPublicOut,
    ContentIn,
    FiledOut,
    FileIn,
    RateIn,
    TrackIn,
    TrackMaterialIn,
    TrackRateIn,
)
from core.db import ReplicaListMixin


def _request_hash(data: dict) -> str:
    canonical = {k: getattr(v, "pk", v) for k, v in data.items()}
    blob = json.dumps(canonical, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _idempotency_key(request) -> str:
    return request.headers.get("Idempotency-Key", "").strip()


class FilingThrottle(ScopedRateThrottle):
    """The filing limit, which a retry does not spend: a call whose `Idempotency-Key` already
    has a stored receipt files nothing (it gets the receipt back, or is refused), so a client
    retrying after a lost answer is not locked out by its own retries."""

    def allow_request(self, request, view) -> bool:
        key = _idempotency_key(request)
        if key and idempotency_receipt_stored(
            actor=request.user, client=request.META.get("REMOTE_ADDR", ""), key=key
        ):
            return True
        return super().allow_request(request, view)


class AppealFileApi(APIView):
    """File an appeal. Without an account, or with one (session or token). A retried request
    with the same `Idempotency-Key` header never files twice, and does not count against the
    filing limit."""

    permission_classes = [AllowAny]
    throttle_classes = [FilingThrottle]
    throttle_scope = "filing"
    error_statuses = ("409",)  # an Idempotency-Key already used for a different filing

    @extend_schema(
        request=FileIn,
        responses={201: FiledOut, 200: FiledOut},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="同一键重复提交只登记一次，返回首次的回执。",
            )
        ],
        operation_id="appeal_file",
        tags=["enterprise"],
    )
    def post(self, request):
        data = valid(FileIn, request.data)
        key = _idempotency_key(request)
        if key:
            receipt, replayed = services.appeal_file_idempotent(
                actor=request.user,
                key=key,
                request_hash=_request_hash(data),
                client=request.META.get("REMOTE_ADDR", ""),
                **data,
            )
            return Response(receipt, status=200 if replayed else 201)
        filed = services.appeal_file(actor=request.user, **data)
        receipt = {
            "number": filed.appeal.number,
            "query_code": filed.query_code,
            "status": filed.appeal.status,
            "filed_at": filed.appeal.filed_at,
        }
        return Response(FiledOut(receipt).data, status=201)


def _tracked(data: dict):
    """The appeal for a number and query code; a wrong code and an unknown number both 404."""
    appeal = appeal_find_by_code(data["number"], data["code"])
    if appeal is None:
        raise Http404
    return appeal


class _TrackingApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "tracking"
    # A wrong query code and an unknown number both answer 404 (config.schema documents it).
    error_statuses: tuple[str, ...] = ("404",)


class TrackApi(_TrackingApi):
    """The progress of an appeal, by number and query code (sent in the body, never a URL)."""

    @extend_schema(
        request=TrackIn, responses=AppealPublicOut, operation_id="appeal_track", tags=["enterprise"]
    )
    def post(self, request):
        return public_view(_tracked(valid(TrackIn, request.data)))


class TrackRateApi(_TrackingApi):
    """Rate the latest reply. Unsatisfied needs `rehandle`: true sends it back to the lead
    (重办), false ends it, with the reason in `comment`."""

    error_statuses = ("404", "409")  # 409: no reply waiting for a rating

    @extend_schema(
        request=TrackRateIn,
        responses=AppealPublicOut,
        operation_id="appeal_track_rate",
        tags=["enterprise"],
    )
    def post(self, request):
        data = valid(TrackRateIn, request.data)
        appeal = _tracked(data)
        services.appeal_rate(
            actor=request.user,
            appeal_id=appeal.pk,
            score=data["score"],
            comment=data["comment"],
            rehandle=data["rehandle"],
        )
        return public_view(appeal)


class TrackMaterialApi(_TrackingApi):
    """Supply the material a department asked for; the deadlines run again."""

    error_statuses = ("404", "409")  # 409: no material asked for

    @extend_schema(
        request=TrackMaterialIn,
        responses=AppealPublicOut,
        operation_id="appeal_track_material",
        tags=["enterprise"],
    )
    def post(self, request):
        data = valid(TrackMaterialIn, request.data)
        appeal = _tracked(data)
        services.appeal_supply_material(
            actor=request.user, appeal_id=appeal.pk, content=data["content"]
        )
        return public_view(appeal)


class MyAppealListApi(ReplicaListMixin, generics.ListAPIView):
    """An enterprise account's own appeals, newest first."""

    serializer_class = AppealListOut

    def get_queryset(self):
        return my_appeals(self.request.user)


def _own_appeal(request, number: str):
    appeal = my_appeals(request.user).filter(number=number).first()
    if appeal is None:
        raise Http404
    return appeal


class MyAppealRateApi(APIView):
    error_statuses = ("409",)  # no reply waiting for a rating

    @extend_schema(
        request=RateIn,
        responses=AppealPublicOut,
        operation_id="my_appeal_rate",
        tags=["enterprise"],
    )
    def post(self, request, number: str):
        appeal = _own_appeal(request, number)
        data = valid(RateIn, request.data)
        services.appeal_rate(actor=request.user, appeal_id=appeal.pk, **data)
        return public_view(appeal)


class MyAppealMaterialApi(APIView):
    error_statuses = ("409",)  # no material asked for

    @extend_schema(
        request=ContentIn,
        responses=AppealPublicOut,
        operation_id="my_appeal_material",
        tags=["enterprise"],
    )
    def post(self, request, number: str):
        appeal = _own_appeal(request, number)
        services.appeal_supply_material(
            actor=request.user,
            appeal_id=appeal.pk,
            content=valid(ContentIn, request.data)["content"],
        )
        return public_view(appeal)


class MyAppealDetailApi(APIView):
    @extend_schema(responses=AppealPublicOut, operation_id="my_appeal_detail", tags=["enterprise"])
    def get(self, request, number: str):
        return public_view(_own_appeal(request, number))
