import codecs
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve

from core.audit import audit_ip
from core.params import BadParameter
from core.ratelimit import over_limit

# Neither a shared proxy nor the browser may keep the response.
NO_STORE = "no-store, private"


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
            response["Cache-Control"] = NO_STORE
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


def takes_anonymous_uploads(view):
    """Marks a view that people who are not signed in may send files to (the public report form).

    Its anonymous bodies may be up to ``ANONYMOUS_UPLOAD_MAX_BODY_BYTES``; those larger than
    ``ANONYMOUS_MAX_BODY_BYTES`` count against ``ANONYMOUS_UPLOADS_PER_HOUR`` per address
    (``RequestBodyLimitMiddleware``), so nobody can have large bodies read without end.
    """
    view.takes_anonymous_uploads = True
    return view


def _takes_anonymous_uploads(request) -> bool:
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return getattr(match.func, "takes_anonymous_uploads", False)


class RequestBodyLimitMiddleware:
    """Refuses a request body larger than the sender may send, before anything reads it.

    Anonymous requests (the public report form, sign-in, the intake) get
    ``ANONYMOUS_MAX_BODY_BYTES``, or ``ANONYMOUS_UPLOAD_MAX_BODY_BYTES`` for a view marked
    ``takes_anonymous_uploads`` (a few such bodies per address an hour); signed-in people
    ``MAX_BODY_BYTES``, room for the largest upload (a report's evidence files). The size is
    the declared Content-Length: Django never reads past it, so a body cannot grow beyond what
    was checked. A body sent without one (chunked) would be read as empty, so it is refused
    outright, with 411.

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
        if not signed_in and length > limit and _takes_anonymous_uploads(request):
            return _anonymous_upload_refusal(request, length)
        if length > limit:
            return _refuse(
                413,
                f"This request is too large: at most {filesizeformat(limit)} can be sent "
                f"{'at once' if signed_in else 'without signing in'}.",
            )
        return None


def _anonymous_upload_refusal(request, length: int) -> HttpResponse | None:
    limit = settings.ANONYMOUS_UPLOAD_MAX_BODY_BYTES
    if length > limit:
        return _refuse(
            413,
            f"Your report and its files are too large to send together: at most {filesizeformat(limit)} in all "
            "can be sent without signing in. Go back, choose fewer or smaller files (a screenshot is usually "
            "well under 1 MB) and send it again.",
        )
    key = f"core:anonymous-uploads:{client_ip(request) or 'unknown'}"
    if over_limit(key, limit=settings.ANONYMOUS_UPLOADS_PER_HOUR, window=3600):
        return _refuse(429, "Too many files have been sent from your connection in the last hour. Try again later.")
    return None


# The methods the portal's pages take; no page needs PUT, PATCH, DELETE or any other.
ALLOWED_METHODS = ("GET", "HEAD", "POST", "OPTIONS")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _undecodable(raw: bytes) -> str:
    """What is wrong with a query string or URL-encoded form body, or "" when nothing is."""
    decoded = unquote_to_bytes(raw)
    if b"\x00" in decoded:
        return "contains a NUL character (%00), which no field takes"
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        return "is not valid UTF-8 (the portal's pages send UTF-8)"
    return ""


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in data.lists())


class BadInputMiddleware:
    """Answers a request no page of the portal sends with a 4xx that says what is wrong, never a 500.

    - Methods: OPTIONS is answered here with the methods the portal takes (no view runs: a
      function view would treat it as a GET); any method but GET, HEAD, POST and OPTIONS gets
      405 on every path, the Django admin's and allauth's included (their class-based views
      would take a PUT as a POST).
    - The address and cookies: a NUL character (PostgreSQL refuses it in any text, so a
      search, a filter or a session lookup fed one fails) or a query string that is not
      UTF-8 gets 400.
    - A form body is read here first, before CsrfViewMiddleware's view hook: a body Django
      cannot parse (URL-encoded but declared in another charset, too many fields, too
      large) raises BadRequest there, and Django's error page, which checks the CSRF token
      again, reads it again and fails with a 500. Such a body, one that is not UTF-8, and a
      field holding a NUL get 400 (413 when too large) instead. Views exempt from CSRF
      (the signed intake) read their raw body themselves and are left to it.
    - ``core.params.BadParameter`` raised by a view gets 400 with its message.

    Sits before CsrfViewMiddleware, so its view hook runs first; view hooks run only after
    every middleware's request phase, so RequestBodyLimitMiddleware has already refused an
    oversized body before this reads one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "OPTIONS":
            response = HttpResponse(status=200)
            response["Allow"] = ", ".join(ALLOWED_METHODS)
            return response
        if request.method not in ALLOWED_METHODS:
            response = _refuse(405, f"Method not allowed: the portal takes {', '.join(ALLOWED_METHODS)} only.")
            response["Allow"] = ", ".join(ALLOWED_METHODS)
            return response
        if "\x00" in request.path:
            return _refuse(400, "Bad request: the address contains a NUL character (%00), which no page takes.")
        # A quoted cookie may spell one "\000"; the session's lookup would fail on it. Nothing has
        # read the session yet: SessionMiddleware and AuthenticationMiddleware load it lazily.
        if any("\x00" in name or "\x00" in value for name, value in request.COOKIES.items()):
            return _refuse(
                400, "Bad request: a cookie contains a NUL character. Clear this site's cookies and try again."
            )
        problem = _undecodable(request.META.get("QUERY_STRING", "").encode("iso-8859-1", errors="replace"))
        if problem:
            return _refuse(400, f"Bad request: the address {problem}.")
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or getattr(view_func, "csrf_exempt", False):
            return None
        if request.content_type not in FORM_TYPES:
            return None
        urlencoded = request.content_type == FORM_TYPES[0]
        if urlencoded and request.encoding:
            try:
                utf8 = codecs.lookup(request.encoding).name == "utf-8"
            except LookupError:
                utf8 = False
            if not utf8:
                return _refuse(400, "Bad request: a form must be sent as UTF-8, not in another character set.")
            if request.encoding.lower() != "utf-8":
                request.encoding = "utf-8"  # "UTF8" or "utf_8": the spelling Django's form parser accepts
        try:
            if urlencoded:
                problem = _undecodable(request.body.replace(b"+", b" "))
                if problem:
                    return _refuse(400, f"Bad request: the form {problem}.")
            data = request.POST
        except RequestDataTooBig:
            return _refuse(
                413,
                f"This form is too large: at most {filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)} "
                "of text can be sent, apart from files.",
            )
        except (BadRequest, SuspiciousOperation, MultiPartParserError, UnreadablePostError):
            return _refuse(400, "Bad request: the form could not be read (too many fields, or not a valid form).")
        if _has_nul(data):
            return _refuse(400, "Bad request: the form contains a NUL character, which no field takes.")
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, BadParameter):
            return _refuse(400, f"Bad request: {exception}")
        return None
