"""Exchanging a username and password for the API token that authenticates later requests."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken

from annotation.api.base import ApiErrorsMixin, ApiSchema


class AuthTokenObtainApi(ApiErrorsMixin, ObtainAuthToken):
    """DRF's token view; send the token back as ``Authorization: Token <key>``."""

    schema = ApiSchema()

    @extend_schema(
        summary="Get your API token",
        description="Returns the same token until it is deleted; "
        "send it as `Authorization: Token <token>`.",
        request=AuthTokenSerializer,
        responses=inline_serializer("AuthTokenOutput", {"token": serializers.CharField()}),
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
