"""The request-body size limit, enforced before anything reads the body."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from .errors import BODY_TOO_LARGE, error_body


class BodySizeLimitMiddleware:
    """413 for any request whose Content-Length is over DATA_UPLOAD_MAX_MEMORY_SIZE, before a
    view, a parser or the CSRF check reads a byte of it (settings.MIDDLEWARE, near the top).
    Django checks the limit only when `request.body` or `request.POST` is read, and DRF's parsers
    read the stream directly, so without this /api/auth/token would parse a body of any size.
    API paths get the JSON error shape; a WSGI server reads at most Content-Length bytes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is None or length <= limit:
            return self.get_response(request)
        detail = BODY_TOO_LARGE.format(limit=limit)
        if request.path.startswith("/api/"):
            return JsonResponse(error_body("body_too_large", detail), status=413)
        return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
