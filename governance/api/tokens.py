"""API tokens: exchange a username and password for a new named token, list yours, revoke one."""

from datetime import timedelta

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from common.api import BaseApi, ListApi
from governance.access import access_api_token
from governance.selectors.tokens import api_token_list
from governance.services.tokens import api_token_create, api_token_revoke


class ApiTokenOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first characters, to tell tokens apart.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class AuthTokenObtainApi(BaseApi):
    """Each call creates a new named token and returns it once; only its digest is stored.

    Send it as `Authorization: Token <token>` (or `Bearer <token>`). Repeated failures lock
    the username out from your address for a while (429).
    """

    authentication_classes = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(
            max_length=4096, trim_whitespace=False, style={"input_type": "password"}
        )
        name = serializers.CharField(max_length=100, required=False, default="API")
        expires_in_days = serializers.IntegerField(
            min_value=1, max_value=3650, required=False, allow_null=True, default=None
        )

    class OutputSerializer(ApiTokenOutputSerializer):
        token = serializers.CharField(help_text="Shown only now; store it safely.")

    @extend_schema(
        summary="Create an API token with your username and password",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description="Wrong username or password."),
            429: inline_serializer("LockedOut", {"detail": serializers.CharField()}),
        },
        auth=[],
    )
    def post(self, request):
        serializer = AuthTokenObtainApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The Django request, not DRF's wrapper: django-axes marks a lockout on the object
        # its middleware sees, and the audit receivers read the path from it.
        django_request = request._request
        user = authenticate(django_request, username=data["username"], password=data["password"])
        if user is None:
            raise serializers.ValidationError(
                {"non_field_errors": [_("Unable to log in with the provided credentials.")]}
            )
        # A password exchange is a login: it is audited and clears django-axes' failure count.
        user_logged_in.send(sender=type(user), request=django_request, user=user)
        expires_at = (
            timezone.now() + timedelta(days=data["expires_in_days"])
            if data["expires_in_days"]
            else None
        )
        token, plaintext = api_token_create(
            actor=user, user=user, name=data["name"], expires_at=expires_at
        )
        body = ApiTokenOutputSerializer(token).data
        return Response({**body, "token": plaintext})


class ApiTokenListApi(ListApi):
    """Your own tokens, revoked and expired ones included; never the secrets."""

    @extend_schema(summary="List your API tokens", responses=ApiTokenOutputSerializer(many=True))
    def get(self, request):
        return self.paginated_response(api_token_list(user=request.user), ApiTokenOutputSerializer)


class ApiTokenRevokeApi(BaseApi):
    """Revoke one of your tokens (administrators: anyone's); it stops working at once."""

    @extend_schema(summary="Revoke an API token", responses={204: None})
    def delete(self, request, token_id: int):
        token = access_api_token(user=request.user, token_id=token_id)
        api_token_revoke(actor=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
