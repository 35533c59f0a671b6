"""The SMS gateway's callback: a message an enterprise sent back (issue #19 part 5)."""

import hmac

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals.apis._base import valid
from appeals.serializers import SmsInboundIn, SmsInboundOut
from appeals.services import notify

SECRET_HEADER = "X-SMS-Gateway-Secret"  # noqa: S105 (a header name)


class GatewaySecret(BasePermission):
    """Only the gateway, which sends SMS_INBOUND_SECRET: checked before anything else, so any
    other caller, any method, is refused alike (403); with no secret set, everyone is."""

    message = _("短信网关密钥不正确。")

    def has_permission(self, request, view) -> bool:
        secret = settings.SMS_INBOUND_SECRET
        given = request.headers.get(SECRET_HEADER, "")
        return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())


class SmsInboundApi(APIView):
    """A reply received by the SMS gateway, passed on with the shared secret SMS_INBOUND_SECRET
    in the `X-SMS-Gateway-Secret` header. The unsubscribe word (TD / 退订) opts the number out of
    the step messages; anything else is ignored. Without SMS_INBOUND_SECRET set, every call is
    refused (403)."""

    # The gateway is a machine with a shared secret, not a user: no session, no CSRF, no token.
    authentication_classes: list = []
    permission_classes = [GatewaySecret]

    @extend_schema(
        request=SmsInboundIn,
        responses={200: SmsInboundOut},
        parameters=[
            OpenApiParameter(
                SECRET_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="短信网关与平台约定的共享密钥（SMS_INBOUND_SECRET）。",
            )
        ],
        operation_id="sms_inbound",
        tags=["integration"],
    )
    def post(self, request):
        data = valid(SmsInboundIn, request.data)
        unsubscribed = notify.sms_opt_out_record(phone=data["phone"], text=data["text"])
        return Response(SmsInboundOut({"unsubscribed": unsubscribed}).data)
