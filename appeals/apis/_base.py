"""Shared pieces of the appeal APIs: validation, the staff view of an appeal, and the
enterprise's view of it."""

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response

from appeals.models import Appeal
from appeals.selectors import appeal_detail
from appeals.serializers import AppealPublicOut, AppealStaffOut
from departments.roles import STAFF_ROLES, roles_of


def valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def require_staff(user) -> None:
    if not roles_of(user) & STAFF_ROLES:
        raise exceptions.PermissionDenied(_("仅限工作人员。"))


def staff_view(request, appeal: Appeal) -> Response:
    serializer = AppealStaffOut(appeal_detail(appeal), context={"request": request})
    return Response(serializer.data)


def public_view(appeal: Appeal) -> Response:
    return Response(AppealPublicOut(appeal_detail(appeal)).data)
