"""The SMS gateway's callback: a message an enterprise sent back (issue #19 part 5)."""

import hmac

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals.apis._base import valid
from appeals.serializers import SmsInboundIn, SmsInboundOut
from appeals.services import notify

SECRET_HEADER = "X-SMS-Gateway-Secret"  # noqa: S105 (a header name)


class SmsInboundApi(APIView):
    """A reply received by the SMS gateway, passed on with the shared secret SMS_INBOUND_SECRET
    in the `X-SMS-Gateway-Secret` header. The unsubscribe word (TD / 退订) opts the number out of
    the step messages; anything else is ignored. Without SMS_INBOUND_SECRET set, there is no
    such endpoint (404)."""

    # The gateway is a machine with a shared secret, not a user: no session, no CSRF, no token.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    error_statuses = ("404",)

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
        secret = settings.SMS_INBOUND_SECRET
        if not secret:
            raise Http404
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            raise exceptions.PermissionDenied(_("短信网关密钥不正确。"))
        data = valid(SmsInboundIn, request.data)
        unsubscribed = notify.sms_opt_out_record(phone=data["phone"], text=data["text"])
        return Response(SmsInboundOut({"unsubscribed": unsubscribed}).data)
