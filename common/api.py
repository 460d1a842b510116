"""What every API class shares: errors as responses, pagination, schema names, shared URLs."""

import functools
import inspect
from types import SimpleNamespace

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from common.errors import ClientError


class ErrorSerializer(serializers.Serializer):
    """The body of every error but a 400: what went wrong, in words."""

    detail = serializers.CharField()


_BAD_REQUEST = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="The input was not accepted: the messages by field name (non_field_errors for the "
    "whole input), or a detail.",
)
_ERRORS = {
    "401": "No valid credentials: send `Authorization: Token <token>`.",
    "403": "Your role does not allow this (in the project, or at all).",
    "404": "No such object, or not one you may see; on a list, no such page.",
    "410": "The project's data was destroyed (crypto-shredded) and can no longer be read.",
    "415": "The body is in a media type this operation does not read.",
}


class ApiSchema(AutoSchema):
    """Names components after their API class: ProjectListApi.OutputSerializer -> ProjectListOutput.

    Every API class nests serializers called InputSerializer/OutputSerializer, so the
    default name (the bare class name) would make them all collide in the schema.
    """

    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        return qualname.replace("Api.", ".").replace("Serializer", "").replace(".", "")

    def _handler_owner(self) -> type:
        """The API class that defines this operation's handler, not the one_url combination."""
        name = self.method.lower()
        return next(cls for cls in type(self.view).__mro__ if name in vars(cls))

    def get_description(self):
        # Only the API class's own docstring: inherited ones describe base classes, not endpoints.
        own_doc = vars(self._handler_owner()).get("__doc__")
        return inspect.cleandoc(own_doc) if own_doc else ""

    def get_tags(self):
        return [self._handler_owner().__module__.rpartition(".")[2]]

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        """The operation with the errors every API class can answer, where the operation can answer them.

        They come from the shared machinery, not from each endpoint: DRF's authentication and
        permission checks (401, 403), the access gate's and the paginator's 404s, the 400 of a
        serializer or of a service's ValidationError, the keyring's 410 for shredded data and the
        parsers' 415. An endpoint declares its own (409, 429, ...) with extend_schema.
        """
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, response in self._shared_errors(path, operation).items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _shared_errors(self, path: str, operation: dict) -> dict:
        query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        filters = [name for name in query if name != "page"]  # a bad page is a 404, not a 400
        has_body = "requestBody" in operation
        signed_in = any(requirement for requirement in operation.get("security", []))
        errors = {}
        # Any write may meet a service's ValidationError; a read only through its filters.
        if has_body or filters or self.method != "GET":
            errors["400"] = _BAD_REQUEST
        if signed_in:
            errors["401"] = OpenApiResponse(ErrorSerializer, description=_ERRORS["401"])
            errors["403"] = OpenApiResponse(ErrorSerializer, description=_ERRORS["403"])
        if "{" in path or "page" in query:
            errors["404"] = OpenApiResponse(ErrorSerializer, description=_ERRORS["404"])
        if "{project_id}" in path:
            errors["410"] = OpenApiResponse(ErrorSerializer, description=_ERRORS["410"])
        if has_body:
            errors["415"] = OpenApiResponse(ErrorSerializer, description=_ERRORS["415"])
        return errors


class ApiErrorsMixin:
    """Turns service errors into 400s and a ClientError into its own response: no try/except in API classes."""

    def handle_exception(self, exc):
        if isinstance(exc, ClientError):
            # The client is told what is wrong (shredded data: gone for good), not shown a server error.
            return Response(exc.response_data(), status=exc.status_code)
        if isinstance(exc, DjangoValidationError):
            errors = as_serializer_error(exc)
            # full_clean() puts cross-field errors under "__all__"; DRF clients expect its key.
            if NON_FIELD_ERRORS in errors:
                errors[api_settings.NON_FIELD_ERRORS_KEY] = errors.pop(NON_FIELD_ERRORS)
            exc = exceptions.ValidationError(errors)
        return super().handle_exception(exc)


class BaseApi(ApiErrorsMixin, APIView):
    schema = ApiSchema()


class FormatParamIsDataNegotiation(DefaultContentNegotiation):
    """Leaves ``?format=`` to the view: there it names the file format, not a DRF renderer."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


class ListApi(BaseApi):
    """An API class whose GET returns one page of a queryset."""

    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    def paginated_response(self, queryset, serializer_class) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


def api_not_found(request, exception) -> JsonResponse:
    """A path under the API that no route matches: the API's JSON 404, not Django's HTML page."""
    return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)


def one_url(*apis: type[APIView]):
    """Serve several single-action API classes (one HTTP method each) from one URL.

    The combined class inherits each handler, so inside a handler refer to the
    nested serializers through the class name (``ProjectCreateApi.InputSerializer``),
    not ``self``: ``self`` resolves to the first class in the combination.
    """
    methods = [method for api in apis for method in api.http_method_names if method in vars(api)]
    assert len(methods) == len(set(methods)), (
        f"{[api.__name__ for api in apis]} handle the same HTTP method twice."
    )
    combined = type("".join(api.__name__.removesuffix("Api") for api in apis) + "Api", apis, {})
    return combined.as_view()


@functools.cache
def _bound(serializer_class):
    serializer = serializer_class()
    serializer.fields  # noqa: B018 - bound here once, not by the first requests at the same time
    return serializer


def represented(serializer_class, instance) -> dict:
    """``serializer_class(instance).data``, through one instance of the class per process.

    Each new serializer deep-copies its declared fields, nested serializers' too, before binding
    them: on the labelling API's "next" and submit that cost more CPU than writing the response.
    Bound once, the fields are only read by ``to_representation``. For output serializers whose
    result depends on the instance alone (no context, no request).
    """
    return _bound(serializer_class).to_representation(instance)
