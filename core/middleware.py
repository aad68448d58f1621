from django.conf import settings
from django.http import HttpResponse
from django.template.defaultfilters import filesizeformat

from core.audit import audit_ip


def client_ip(request) -> str | None:
    """The client's address, trusting X-Forwarded-For only as far as our own proxies."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_ip(client_ip(request)):
            return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Tells the browser the portal never uses the camera, microphone, location, payments and the like.

    Django's SecurityMiddleware has no Permissions-Policy (5.2), so this adds the header
    from ``settings.PERMISSIONS_POLICY`` to every response that does not already have one.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(allowed)})" for feature, allowed in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.header)
        return response


def _cache_directives(response) -> set[str]:
    return {part.strip().lower() for part in response.get("Cache-Control", "").split(",") if part.strip()}


class PrivatePagesMiddleware:
    """``Cache-Control: no-store, private`` on every response that belongs to one person.

    That is a response to a signed-in person (also the one that signs them in or out), to
    a browser that carries a session, or one that sets a cookie: the sign-in forms, whose
    CSRF token is tied to the browser's cookie, and the public report's thanks page, which
    shows the reporter's private reference. Neither a shared proxy nor the browser's
    history may keep them. A view that already said ``no-store`` keeps its own header.
    Static files are served by whitenoise, above this, and stay cacheable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "no-store" not in _cache_directives(response) and self._is_private(request, response):
            response["Cache-Control"] = "no-store, private"
        return response

    @staticmethod
    def _is_private(request, response) -> bool:
        user = getattr(request, "user", None)
        return bool(
            (user is not None and user.is_authenticated)
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            or response.cookies
        )


def _refuse(status: int, text: str) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")


class RequestBodyLimitMiddleware:
    """Refuses a request body larger than the sender may send, before anything reads it.

    Anonymous requests (the public report form, sign-in, the intake) get
    ``ANONYMOUS_MAX_BODY_BYTES``; signed-in people ``MAX_BODY_BYTES``, room for the largest
    upload (a report's evidence files). The size is the declared Content-Length: Django
    never reads past it, so a body cannot grow beyond what was checked. A body sent
    without one (chunked) would be read as empty, so it is refused outright, with 411.

    Sits after AuthenticationMiddleware (it needs to know who is asking) and before
    CsrfViewMiddleware, whose view hook is the first thing to read a form.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self._refusal(request) or self.get_response(request)

    @staticmethod
    def _refusal(request) -> HttpResponse | None:
        declared = request.META.get("CONTENT_LENGTH", "")
        if not declared:
            encoding = request.META.get("HTTP_TRANSFER_ENCODING", "").strip().lower()
            if encoding and encoding != "identity":
                return _refuse(411, "Length required: send the request with a Content-Length header.")
            return None
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            return _refuse(400, "Bad request: the Content-Length header is not a size.")
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        limit = settings.MAX_BODY_BYTES if signed_in else settings.ANONYMOUS_MAX_BODY_BYTES
        if length > limit:
            return _refuse(
                413,
                f"This request is too large: at most {filesizeformat(limit)} can be sent "
                f"{'at once' if signed_in else 'without signing in'}.",
            )
        return None
