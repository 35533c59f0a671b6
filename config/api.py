"""What every API view shares: errors as JSON with a stable code and a Chinese message, and
page-number pagination with a bounded page size."""

import re

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ServiceError


class Pagination(PageNumberPagination):
    """`?page=` from 1 (past the end: 404) and `?page_size=` from 1, at most 100 (larger is cut
    to 100). A page or page size that is not a whole number from 1 (`0`, `null`, `2.5`,
    `last`), or is given twice, is a 400, not silently the default or the last one given, and
    the schema says so."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def _whole_number(self, request, name: str) -> int | None:
        values = request.query_params.getlist(name)
        if not values:
            return None
        if len(values) > 1:
            raise exceptions.ValidationError({name: [_("该参数只能给出一次。")]})
        raw = values[0]
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise exceptions.ValidationError({name: [_("请填写不小于 1 的整数。")]})
        return int(raw)

    def get_page_size(self, request):
        size = self._whole_number(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def get_page_number(self, request, paginator):
        return self._whole_number(request, self.page_query_param) or 1

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters


class StrictJSONParser(JSONParser):
    """JSON bodies; nesting too deep for Python's parser is a 400, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError from None


# A lone surrogate ("\\ud800" in JSON) is not text: the fields refuse it, but a message that
# echoes the input (DRF's "not a valid choice") could then not be encoded, a 500.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _printable(detail):
    """The field errors with any lone surrogate they echo replaced, without recursion limits
    (the errors mirror the input's shape)."""
    if isinstance(detail, dict):
        return {_printable(k): _printable(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_printable(v) for v in detail]
    if isinstance(detail, str):
        return _SURROGATE.sub("\ufffd", detail)
    return detail


_MESSAGES = {
    exceptions.NotAuthenticated: ("not_authenticated", lambda: _("请先登录或提供有效令牌。")),
    exceptions.AuthenticationFailed: ("authentication_failed", None),
    exceptions.PermissionDenied: ("forbidden", lambda: _("您没有执行此操作的权限。")),
    exceptions.NotFound: ("not_found", lambda: _("未找到。")),
    exceptions.MethodNotAllowed: ("method_not_allowed", lambda: _("不支持该请求方法。")),
    exceptions.NotAcceptable: ("not_acceptable", lambda: _("不支持请求的格式。")),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", lambda: _("不支持的内容类型。")),
    exceptions.Throttled: ("throttled", lambda: _("请求过于频繁，请稍后再试。")),
    exceptions.ParseError: ("parse_error", lambda: _("请求内容无法解析。")),
}


def _names_nothing(codes) -> bool:
    """Every error of a validation is an id that names nothing (DRF's `does_not_exist`, from a
    related field whose queryset is what the caller may use). Any other error, malformed input,
    makes it a 400 instead."""
    leaves = []
    pending = [codes]
    while pending:  # not recursive: the codes mirror the input's shape
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        else:
            leaves.append(item)
    return bool(leaves) and all(code == "does_not_exist" for code in leaves)


def exception_handler(exc, context):
    """One JSON shape for every error: {"code": …, "message": …[, "fields": {…}]}."""
    if isinstance(exc, ServiceError):
        data = {"code": exc.code, "message": exc.message}
        if exc.field:
            data["fields"] = {exc.field: [exc.message]}
        return Response(data, status=exc.status)
    if isinstance(exc, RecursionError):
        # Input nested deeper than some code walking it can go (serializers refuse nested ids
        # and StrictJSONParser what the parser cannot read; this is the net under both).
        exc = exceptions.ParseError()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        if _names_nothing(exc.get_codes()):
            # Well formed, but an id in it names nothing the caller may use: 404, like a path
            # that names nothing (docs/api.md, 错误).
            response.data = {
                "code": "not_found",
                "message": _("所选对象不存在。"),
                "fields": _printable(exc.detail),
            }
            response.status_code = status.HTTP_404_NOT_FOUND
            return response
        response.data = {
            "code": "invalid",
            "message": _("请检查输入。"),
            "fields": _printable(exc.detail),
        }
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    code, message = next(
        ((c, m) for kind, (c, m) in _MESSAGES.items() if isinstance(exc, kind)),
        ("error", None),
    )
    response.data = {"code": code, "message": message() if message else str(exc.detail)}
    return response
