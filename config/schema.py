"""The OpenAPI schema's view of every operation: drf-spectacular's, plus the error answers each
can give in the one error shape (config.api.exception_handler). A module of its own because
drf-spectacular reads DRF's settings, which import config.api."""

import copy

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from core.schema_rules import NOT_BLANK, TEXT


class ErrorOut(serializers.Serializer):
    """The shape of every error answer (config.api.exception_handler, the 503 of
    config.middleware, the 500 of config.views)."""

    code = serializers.CharField(help_text="Stable English code for programs, e.g. `invalid`.")
    message = serializers.CharField(help_text="What went wrong, in Chinese, for people.")
    fields = serializers.DictField(
        required=False,
        help_text="With `invalid` and input-specific refusals: each input's messages.",
    )
    request_id = serializers.CharField(
        required=False, help_text="The call's X-Request-ID, to quote when reporting a problem."
    )


_ERRORS = {
    "400": "The body or a query parameter is malformed: it does not validate (`invalid`), or a "
    "service refuses the input itself (`code` says which). Sent again unchanged, it is refused "
    "again.",
    "415": "The body's Content-Type is not one the operation reads (JSON, a form, multipart).",
    "401": "No credentials, or a bad or revoked token.",
    "403": "Signed in, but the role may not do this (or a session call without its CSRF token).",
    "404": "No such object, or one the caller may not see (the same answer), or a page past "
    "the end; or an id in the body names nothing the caller may use (`not_found`, with "
    "`fields`).",
    "409": "Well formed, but refused in the current state of the appeal or of what it names "
    "(`code` says which: `invalid_transition`, `not_signed`, `idempotency_key_reused`, …).",
    "429": "Too many calls from this address; `Retry-After` says when to retry.",
    "503": "The database is unavailable: nothing was done (or, if it broke while committing, "
    "the outcome is unknown). Retry after `Retry-After` seconds.",
}


class ApiSchema(AutoSchema):
    """drf-spectacular's schema with the error answers each operation can give, in the one
    error shape, so that a client generator and schemathesis see every documented status."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status_code in self._error_statuses():
            if status_code not in responses:
                response = self._get_response_for_code(ErrorOut, status_code, direction=direction)
                response["description"] = _ERRORS[status_code]
                responses[status_code] = response
        return responses

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and type(field) is serializers.CharField
            and "pattern" not in schema
        ):
            # What DRF's CharField refuses, said in the schema: a NUL character anywhere, and
            # (unless blank is allowed) nothing but whitespace, which it trims to blank.
            schema["pattern"] = TEXT if field.allow_blank else NOT_BLANK
        return schema

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        # Rules across fields, stated by the serializer beside its fields (`schema_any_of`,
        # see required_when) and enforced by it or by its service; schemathesis' acceptance
        # and rejection checks in CI keep the two saying the same.
        any_of = getattr(serializer, "schema_any_of", None)
        if direction == "request" and any_of:
            # A copy: the enum hook rewrites what it finds in place, on every generation.
            schema["anyOf"] = copy.deepcopy(any_of)
        return schema

    def _resolve_path_parameters(self, variables):
        # Django's `<int:…>` matches digits only, and no row has id 0: ids are from 1.
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"].get("type") == "integer":
                parameter["schema"]["minimum"] = 1
        return parameters

    def _error_statuses(self) -> list[str]:
        anonymous = any(isinstance(p, AllowAny) for p in self.view.get_permissions())
        takes_input = self.method in {"POST", "PUT", "PATCH"} or bool(
            self._get_filter_parameters() or self._get_pagination_parameters()
        )
        found_by_path = "{" in self.path or self._is_list_view() or self._names_by_body()
        statuses = ["401", "503"]  # any token can be revoked; any call can meet a failover
        if takes_input:
            statuses.append("400")
        if self.method in {"POST", "PUT", "PATCH"}:
            statuses.append("415")
        if not anonymous or self.method != "GET":
            statuses.append("403")
        if found_by_path:
            statuses.append("404")
        if self.view.get_throttles():
            statuses.append("429")
        # Views say what their lookups and services add: tracking by number and code finds its
        # appeal by the body (404); an action refused in the appeal's current state (409).
        statuses.extend(getattr(self.view, "error_statuses", ()))
        return sorted(set(statuses))

    def _names_by_body(self) -> bool:
        """The request body has an id field (a related field): one that names nothing the
        caller may use answers 404 (config.api.exception_handler)."""
        if self.method not in {"POST", "PUT", "PATCH"}:
            return False
        serializer = force_instance(self.get_request_serializer())
        fields = getattr(serializer, "fields", None) or {}
        return any(
            isinstance(f, serializers.RelatedField | serializers.ManyRelatedField)
            for f in fields.values()
        )


def link_appeal_numbers(result, generator, request, public):
    """drf-spectacular postprocessing: OpenAPI links from a filing's receipt to every operation
    on one appeal, so that a client (or schemathesis' stateful phase) knows the `number` it
    answers with is the `{number}` of those paths."""
    paths = result.get("paths", {})
    filing = paths.get("/api/v1/appeals/", {}).get("post")
    if not filing:
        return result
    links = {}
    for path, operations in paths.items():
        if "{number}" not in path:
            continue
        for method, operation in operations.items():
            if method in {"get", "post"} and "operationId" in operation:
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {"number": "$response.body#/number"},
                }
    for status in ("200", "201"):
        if status in filing.get("responses", {}):
            filing["responses"][status]["links"] = links
    return result
