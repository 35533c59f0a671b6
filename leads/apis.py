"""Leads through the API, read only: an observer's own leads with their outcomes, or every
lead for the office. The same scoping function as the pages."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals.apis._base import valid
from core.db import ReplicaListMixin
from departments.roles import Role, has_role
from leads.selectors import lead_get_visible, leads_list
from leads.serializers import LeadOut, LeadQueryIn


def _require_lead_role(user) -> None:
    if not has_role(user, Role.SUPERVISOR, Role.OFFICE):
        raise exceptions.PermissionDenied


@extend_schema(tags=["leads"], parameters=[LeadQueryIn])
class LeadListApi(ReplicaListMixin, generics.ListAPIView):
    """The caller's leads (an observer) or all leads (the office), newest first."""

    serializer_class = LeadOut
    filter_backends: list[type] = []

    def get_queryset(self):
        _require_lead_role(self.request.user)
        query = valid(LeadQueryIn, self.request.query_params)
        return leads_list(self.request.user, status=query.get("status", ""))


class LeadDetailApi(APIView):
    """One lead with its outcome: 404 for a lead the caller may not see."""

    @extend_schema(tags=["leads"], operation_id="lead_detail", responses=LeadOut)
    def get(self, request, pk: int):
        _require_lead_role(request.user)
        lead = lead_get_visible(request.user, pk)
        return Response(LeadOut(lead, context={"request": request}).data)
