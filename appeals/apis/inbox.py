"""A person's own in-app messages through the API (the page is appeals.views.public
.notification_list), and the office's queue of extension requests."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals.apis._base import valid
from appeals.selectors import notifications_of, pending_extensions
from appeals.serializers import (
    ExtensionItemOut,
    NotificationOut,
    NotificationQueryIn,
    NotificationReadIn,
)
from appeals.services import notify
from core.db import ReplicaListMixin


@extend_schema(tags=["notifications"], parameters=[NotificationQueryIn])
class NotificationListApi(ReplicaListMixin, generics.ListAPIView):
    """The caller's in-app messages, newest first (`?unread=true`: only the unread)."""

    serializer_class = NotificationOut
    filter_backends: list[type] = []

    def get_queryset(self):
        query = valid(NotificationQueryIn, self.request.query_params)
        messages = notifications_of(self.request.user)
        return messages.filter(read_at__isnull=True) if query["unread"] else messages


class NotificationReadApi(APIView):
    """Mark the caller's messages read: `{"ids": [...]}` or `{"all": true}`. Ids of others'
    messages change nothing."""

    @extend_schema(
        tags=["notifications"],
        request=NotificationReadIn,
        responses=inline_serializer("UnreadCount", {"unread": serializers.IntegerField()}),
        operation_id="notifications_read",
    )
    def post(self, request):
        data = valid(NotificationReadIn, request.data)
        if data["all"]:
            notify.notifications_mark_all_read(actor=request.user)
        else:
            notify.notifications_mark_read(actor=request.user, ids=data["ids"])
        unread = notifications_of(request.user).filter(read_at__isnull=True).count()
        return Response({"unread": unread})


@extend_schema(tags=["office"])
class ExtensionQueueApi(ReplicaListMixin, generics.ListAPIView):
    """Extension requests waiting for the office's decision, oldest first (empty for others)."""

    serializer_class = ExtensionItemOut
    filter_backends: list[type] = []

    def get_queryset(self):
        return pending_extensions(self.request.user)
