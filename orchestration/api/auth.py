"""Logging in: POST /api/auth/token takes a JSON {username, password} and answers {token}, the
user's API token (created on first use), to send as `Authorization: Token <token>`.

It needs no credentials (`security: []` in the OpenAPI document). A made-up token is still a
401 here, as on every API URL; a browser session is not looked at, so there is no CSRF check,
and the body is JSON only: a cross-site form cannot send JSON without a CORS preflight, so
nobody can be logged in from another site's page. Bad credentials are a 400 in the API's error
shape (api/errors.py), as DRF's view answers them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny

from .serializers import AuthTokenRequestSerializer, AuthTokenSerializer, ErrorSerializer


class _OpenSchema(AutoSchema):
    """The operation states `security: []`: no credentials needed (an absent key would defer
    to a document-wide requirement, were one ever set)."""

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation is not None:
            operation["security"] = []
        return operation


class AuthTokenCreateApi(ObtainAuthToken):
    """POST /api/auth/token: a username and password for the user's API token."""

    authentication_classes = [TokenAuthentication]  # only to refuse a made-up token (401)
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    schema = _OpenSchema()

    @extend_schema(
        operation_id="auth_token_create", summary="Log in: a username and password for a token",
        request=AuthTokenRequestSerializer,
        responses={
            200: AuthTokenSerializer,
            400: OpenApiResponse(ErrorSerializer, description="A field is missing, or the "
                                 "username and password do not match an active user."),
            413: OpenApiResponse(ErrorSerializer, description="The request body is larger than "
                                 "the server accepts."),
            415: OpenApiResponse(ErrorSerializer, description="The body is not JSON.")},
        description="The same token on every call for a user (created on first use). Needs no "
        "credentials; send JSON only.")
    def post(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return super().post(request, *args, **kwargs)
