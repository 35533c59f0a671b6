"""The staff side of the API: lists (scoped by appeals_visible_to), the appeal, and one POST
endpoint per action, each calling the same service as the page."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, generics
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals import services
from appeals.actions import may_publicise
from appeals.apis._base import public_view, require_staff, staff_view, valid
from appeals.filters import AppealFilter
from appeals.selectors import (
    appeal_get_visible,
    appeals_visible_to,
    department_inbox,
    my_appeals,
    review_queue,
    triage_queue,
)
from appeals.serializers import (
    AppealListOut,
    AppealPublicOut,
    AppealStaffOut,
    BlockIn,
    ContactOut,
    ContentIn,
    DecisionIn,
    DeclineIn,
    EmptyIn,
    ExtensionIn,
    InboxItemOut,
    InboxQueryIn,
    MergeIn,
    NoteIn,
    PubliciseIn,
    ReasonIn,
    ReplyIn,
    ReviewItemOut,
    RouteIn,
    TriageQueryIn,
)
from core.db import ReplicaListMixin
from departments.roles import Role, has_role


@extend_schema(tags=["staff"])
class AppealListApi(ReplicaListMixin, generics.ListAPIView):
    """Every appeal the caller may see, with allow-listed filters and ordering."""

    serializer_class = AppealListOut
    filterset_class = AppealFilter

    def get_queryset(self):
        return (
            appeals_visible_to(self.request.user)
            .select_related("category__parent", "region", "enterprise")
            .order_by("-filed_at", "-pk")
        )


class AppealDetailApi(APIView):
    """One appeal: the staff view for staff, the enterprise's view for its own accounts."""

    @extend_schema(
        responses=PolymorphicProxySerializer(
            "AppealDetail", [AppealStaffOut, AppealPublicOut], resource_type_field_name=None
        ),
        operation_id="appeal_detail",
        tags=["staff"],
    )
    def get(self, request, number: str):
        appeal = appeal_get_visible(request.user, number)
        if (
            has_role(request.user, Role.ENTERPRISE)
            and my_appeals(request.user).filter(pk=appeal.pk).exists()
        ):
            return public_view(appeal)
        require_staff(request.user)
        return staff_view(request, appeal)


@extend_schema(tags=["staff"], parameters=[TriageQueryIn])
class TriageQueueApi(ReplicaListMixin, generics.ListAPIView):
    """Appeals waiting for triage: the commissioner's key enterprises first."""

    serializer_class = AppealListOut
    filter_backends: list[type] = []

    def get_queryset(self):
        if not has_role(self.request.user, Role.COMMISSIONER, Role.OFFICE):
            raise exceptions.PermissionDenied
        query = valid(TriageQueryIn, self.request.query_params)
        return triage_queue(
            self.request.user,
            category_id=query.get("category"),
            region_id=query.get("region"),
            tag_id=query.get("tag"),
            search=query["q"],
        )


@extend_schema(tags=["staff"], parameters=[InboxQueryIn])
class InboxApi(ReplicaListMixin, generics.ListAPIView):
    """A department's assignments in one tab (to_sign, in_progress, done)."""

    serializer_class = InboxItemOut
    filter_backends: list[type] = []

    def get_queryset(self):
        query = valid(InboxQueryIn, self.request.query_params)
        return department_inbox(
            self.request.user, department_id=query["department"], tab=query["tab"]
        )


@extend_schema(tags=["staff"])
class ReviewQueueApi(ReplicaListMixin, generics.ListAPIView):
    """Replies that say no, waiting for the caller's review (head, then office)."""

    serializer_class = ReviewItemOut
    filter_backends: list[type] = []

    def get_queryset(self):
        return review_queue(self.request.user)


# --- Actions: scope and fetch, validate, one service, the appeal back ------------------------


class _Action(APIView):
    """POST: the appeal must be visible to the caller (404 otherwise, as for a missing one);
    the service decides whether the caller may act (403) and whether the appeal's state
    allows it now (409)."""

    input_serializer = EmptyIn
    error_statuses: tuple[str, ...] = ("409",)

    def post(self, request, number: str, **ids):
        appeal = appeal_get_visible(request.user, number)
        require_staff(request.user)
        self.perform(request, appeal, valid(self.input_serializer, request.data), **ids)
        return staff_view(request, appeal)

    def perform(self, request, appeal, data, **ids):
        raise NotImplementedError


def _action(input_serializer, operation_id: str):
    """Document an action's request body and response in the schema."""
    return extend_schema_view(
        post=extend_schema(
            request=input_serializer,
            responses=AppealStaffOut,
            operation_id=operation_id,
            tags=["staff"],
        )
    )


def _assignment(appeal, assignment_id: int):
    return get_object_or_404(appeal.assignments, pk=assignment_id)


@_action(RouteIn, "appeal_route")
class RouteApi(_Action):
    input_serializer = RouteIn

    def perform(self, request, appeal, data):
        services.appeal_route(actor=request.user, appeal_id=appeal.pk, **data)


@_action(DeclineIn, "appeal_decline")
class DeclineApi(_Action):
    input_serializer = DeclineIn

    def perform(self, request, appeal, data):
        services.appeal_decline(actor=request.user, appeal_id=appeal.pk, **data)


@_action(MergeIn, "appeal_merge")
class MergeApi(_Action):
    input_serializer = MergeIn

    def perform(self, request, appeal, data):
        services.appeal_merge(actor=request.user, appeal_id=appeal.pk, **data)


@_action(NoteIn, "appeal_close")
class CloseApi(_Action):
    input_serializer = NoteIn

    def perform(self, request, appeal, data):
        services.appeal_close(actor=request.user, appeal_id=appeal.pk, **data)


@_action(ContentIn, "appeal_follow_up")
class FollowUpApi(_Action):
    input_serializer = ContentIn

    def perform(self, request, appeal, data):
        services.followup_record(actor=request.user, appeal_id=appeal.pk, **data)


@_action(BlockIn, "appeal_blocked")
class BlockApi(_Action):
    input_serializer = BlockIn

    def perform(self, request, appeal, data):
        services.appeal_flag_blocked(actor=request.user, appeal_id=appeal.pk, **data)


@_action(EmptyIn, "assignment_sign")
class SignApi(_Action):
    def perform(self, request, appeal, data, assignment_id):
        services.assignment_sign(
            actor=request.user, assignment_id=_assignment(appeal, assignment_id).pk
        )


@_action(ReasonIn, "assignment_return")
class ReturnApi(_Action):
    input_serializer = ReasonIn

    def perform(self, request, appeal, data, assignment_id):
        services.assignment_return(
            actor=request.user, assignment_id=_assignment(appeal, assignment_id).pk, **data
        )


@_action(ContentIn, "opinion_submit")
class OpinionApi(_Action):
    input_serializer = ContentIn

    def perform(self, request, appeal, data, assignment_id):
        services.opinion_submit(
            actor=request.user, assignment_id=_assignment(appeal, assignment_id).pk, **data
        )


@_action(ReplyIn, "reply_submit")
class ReplyApi(_Action):
    input_serializer = ReplyIn

    def perform(self, request, appeal, data, assignment_id):
        services.reply_submit(
            actor=request.user, assignment_id=_assignment(appeal, assignment_id).pk, **data
        )


@_action(NoteIn, "material_request")
class MaterialRequestApi(_Action):
    input_serializer = NoteIn

    def perform(self, request, appeal, data, assignment_id):
        services.appeal_request_material(
            actor=request.user, assignment_id=_assignment(appeal, assignment_id).pk, **data
        )


@_action(ExtensionIn, "extension_request")
class ExtensionRequestApi(_Action):
    input_serializer = ExtensionIn

    def perform(self, request, appeal, data, assignment_id):
        services.extension_request(
            actor=request.user, assignment_id=_assignment(appeal, assignment_id).pk, **data
        )


@_action(DecisionIn, "reply_review")
class ReviewApi(_Action):
    input_serializer = DecisionIn

    def perform(self, request, appeal, data, reply_id):
        reply = get_object_or_404(appeal.replies, pk=reply_id)
        services.reply_review(
            actor=request.user, reply_id=reply.pk, approve=data["approve"], note=data["note"]
        )


@_action(DecisionIn, "extension_decide")
class ExtensionDecideApi(_Action):
    input_serializer = DecisionIn

    def perform(self, request, appeal, data, extension_id):
        extension = get_object_or_404(appeal.extensions, pk=extension_id)
        services.extension_decide(
            actor=request.user,
            extension_id=extension.pk,
            approve=data["approve"],
            note=data["note"],
        )


@_action(PubliciseIn, "appeal_publicise")
class PubliciseApi(_Action):
    """The office's alone: anyone else is refused (403) before the appeal is looked up, so the
    answer is the same for every number."""

    input_serializer = PubliciseIn
    error_statuses = ()  # publicising does not depend on the appeal's state

    def post(self, request, number: str, **ids):
        if not may_publicise(request.user):
            raise exceptions.PermissionDenied
        return super().post(request, number, **ids)

    def perform(self, request, appeal, data):
        services.appeal_publicise(actor=request.user, appeal_id=appeal.pk, **data)


@extend_schema_view(
    post=extend_schema(
        request=EmptyIn, responses=ContactOut, operation_id="contact_reveal", tags=["staff"]
    )
)
class ContactRevealApi(APIView):
    """The full contact name and phone number (the appeal shows them masked), for those who
    handle the appeal; every call leaves an audit record."""

    def post(self, request, number: str):
        appeal = appeal_get_visible(request.user, number)
        require_staff(request.user)
        valid(EmptyIn, request.data)
        contact = services.contact_reveal(actor=request.user, appeal=appeal, request=request)
        return Response(ContactOut(contact).data)
