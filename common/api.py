"""What every API class shares: errors as responses, pagination, schema names, shared URLs."""

import functools
import inspect
from types import SimpleNamespace

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from common.errors import ClientError


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
