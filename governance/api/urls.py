"""Routes of the governance API, included by config.api_urls into the ``api`` namespace under /api/."""

from django.urls import path

from common.api import one_url
from governance.api.members import MemberListApi, MemberRemoveApi, MemberSetApi
from governance.api.tokens import ApiTokenListApi, ApiTokenRevokeApi, AuthTokenObtainApi

project = "projects/<int:project_id>/"

urlpatterns = [
    path("auth/token/", AuthTokenObtainApi.as_view(), name="auth-token"),
    path("tokens/", ApiTokenListApi.as_view(), name="tokens"),
    path("tokens/<int:token_id>/", ApiTokenRevokeApi.as_view(), name="token"),
    path(project + "members/", one_url(MemberListApi, MemberSetApi), name="members"),
    path(project + "members/<int:user_id>/", MemberRemoveApi.as_view(), name="member"),
]
