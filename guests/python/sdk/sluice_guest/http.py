"""A blocking HTTP client over ``wasi:http/outgoing-handler``.

Every request leaves through the host, which checks it against the
manifest's allowed origins and the operator's policy, resolves the name
itself, refuses private addresses and caps time, size and count. A refusal
comes back as an :class:`HttpError` whose kind is :attr:`HttpErrorKind.REFUSED`::

    response = (
        Request.post("https://slack.com/api/chat.postMessage")
        .authenticated("bot_token")
        .json(message)
        .send()
    )
    answer = response.json()

:meth:`Request.send` reads the whole response body, up to
:meth:`Request.max_response_bytes`.

The request body is written here with ``check-write`` and ``write`` only,
not with componentize-py's ``poll_loop.Sink``: the host closes a body stream
as soon as it has read the ``content-length`` it announced, and ``Sink``'s
final flush then fails with ``closed``, which turns a request the remote
system received (and may have acted on) into an error, and so a duplicate
delivery. When a write does fail, the answer to the request decides: the
host's error code (a refused origin, a refused connection) or the remote
system's response, if it answered anyway.
"""

import enum
import json as _json
from typing import Any, List, Optional, Tuple

from componentize_py_types import Err, Ok
from wit_world.imports import outgoing_handler
from wit_world.imports.streams import StreamError_Closed, StreamError_LastOperationFailed
from wit_world.imports.types import (
    ErrorCode,
    Fields,
    FutureIncomingResponse,
    IncomingResponse,
    Method,
    Method_Delete,
    Method_Get,
    Method_Patch,
    Method_Post,
    Method_Put,
    OutgoingBody,
    OutgoingRequest,
    RequestOptions,
    Scheme_Http,
    Scheme_Https,
    http_error_code,
)

from . import auth
from .dates import retry_after_seconds

DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
"""Largest response body :meth:`Request.send` reads unless told otherwise."""

_READ_CHUNK_BYTES = 64 * 1024


class HttpErrorKind(enum.Enum):
    """The kind of an :class:`HttpError`, which decides what a connector does
    about it."""

    REFUSED = "request refused by the host's egress policy"
    """The host refused to send the request: its origin is not among the
    manifest's allowed origins, it resolves to a forbidden address, or the
    call already sent as many requests as it may. Retrying cannot help."""
    DNS = "DNS lookup failed"
    """The host name could not be resolved."""
    TIMEOUT = "request timed out"
    """Connecting, or waiting for the answer, took too long."""
    CONNECTION = "connection failed"
    """The connection could not be made or broke off."""
    TLS = "TLS failed"
    """The TLS handshake failed, for example on an untrusted certificate."""
    RESPONSE_TOO_LARGE = "response too large"
    """The response (headers or body) is larger than allowed."""
    INVALID_REQUEST = "invalid request"
    """The request itself is malformed: a bad URL, header or body."""
    PROTOCOL = "HTTP protocol error"
    """The remote system broke the HTTP protocol, or the host failed."""


_KIND_OF_CODE = {
    HttpErrorKind.REFUSED: (
        "HttpRequestDenied",
        "DestinationIpProhibited",
        "ConnectionLimitReached",
    ),
    HttpErrorKind.DNS: ("DnsTimeout", "DnsError", "DestinationNotFound"),
    HttpErrorKind.TIMEOUT: (
        "ConnectionTimeout",
        "ConnectionReadTimeout",
        "ConnectionWriteTimeout",
        "HttpResponseTimeout",
    ),
    HttpErrorKind.CONNECTION: (
        "DestinationUnavailable",
        "DestinationIpUnroutable",
        "ConnectionRefused",
        "ConnectionTerminated",
        "HttpResponseIncomplete",
    ),
    HttpErrorKind.TLS: ("TlsProtocolError", "TlsCertificateError", "TlsAlertReceived"),
    HttpErrorKind.RESPONSE_TOO_LARGE: (
        "HttpResponseHeaderSectionSize",
        "HttpResponseHeaderSize",
        "HttpResponseBodySize",
        "HttpResponseTrailerSectionSize",
        "HttpResponseTrailerSize",
    ),
    HttpErrorKind.INVALID_REQUEST: (
        "HttpRequestLengthRequired",
        "HttpRequestBodySize",
        "HttpRequestMethodInvalid",
        "HttpRequestUriInvalid",
        "HttpRequestUriTooLong",
        "HttpRequestHeaderSectionSize",
        "HttpRequestHeaderSize",
        "HttpRequestTrailerSectionSize",
        "HttpRequestTrailerSize",
        "ConfigurationError",
    ),
}
"""How Sluice's host reports each failure: an origin outside the allow-list is
``HttpRequestDenied``, a forbidden address ``DestinationIpProhibited`` and
the per-call request cap ``ConnectionLimitReached``: all three are
refusals. Codes not listed (protocol errors, ``InternalError``) are
:attr:`HttpErrorKind.PROTOCOL`."""

_CODE_KINDS = {code: kind for kind, codes in _KIND_OF_CODE.items() for code in codes}

_RETRYABLE = {
    HttpErrorKind.DNS,
    HttpErrorKind.TIMEOUT,
    HttpErrorKind.CONNECTION,
    HttpErrorKind.TLS,
    HttpErrorKind.PROTOCOL,
}


class HttpError(Exception):
    """A failed HTTP request: its :attr:`kind` and the :attr:`detail`, which
    for failures reported by the host names the ``wasi:http`` error code,
    for example ``ErrorCode::HttpRequestDenied``. ``str(error)`` says both."""

    def __init__(self, kind: HttpErrorKind, detail: str):
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind
        self.detail = detail

    @classmethod
    def from_code(cls, code: ErrorCode) -> "HttpError":
        """The error for a ``wasi:http`` error code reported by the host."""
        name = type(code).__name__.removeprefix("ErrorCode_")
        payload = getattr(code, "value", None)
        detail = f"ErrorCode::{name}" if payload is None else f"ErrorCode::{name}({payload!r})"
        return cls(_CODE_KINDS.get(name, HttpErrorKind.PROTOCOL), detail)

    def is_refused(self) -> bool:
        """Whether the host refused to send the request."""
        return self.kind is HttpErrorKind.REFUSED

    def is_retryable(self) -> bool:
        """Whether sending the same request later may succeed: true for
        network trouble, false for refusals, malformed requests and
        oversized answers."""
        return self.kind in _RETRYABLE


class Response:
    """A response read in full by :meth:`Request.send`.

    Attributes:
        status: the HTTP status code.
        headers: ``(name, value)`` pairs, names in lower case, in the order
            received; values that are not UTF-8 are decoded with replacement
            characters.
        body: the body, as bytes.
    """

    def __init__(self, status: int, headers: List[Tuple[str, str]], body: bytes = b""):
        """A response with ``status``, ``headers`` and ``body``, as if
        received: also for testing code that reads answers."""
        self.status = status
        self.headers = [(name.lower(), value) for name, value in headers]
        self.body = body

    def __repr__(self) -> str:
        return f"Response(status={self.status}, headers={self.headers!r}, body={self.body!r})"

    def is_success(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    def header(self, name: str) -> Optional[str]:
        """The first value of header ``name`` (any case), or ``None``."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    def text(self) -> str:
        """The body as text; bytes that are not UTF-8 are replaced."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` when it is not."""
        return _json.loads(self.body)

    def retry_after(self, now_ms: int) -> Optional[int]:
        """The delay the ``Retry-After`` header asks for, in seconds from
        ``now_ms`` (the invocation context's ``now_ms``), when there is a
        valid one (seconds or an HTTP date)."""
        value = self.header("retry-after")
        return None if value is None else retry_after_seconds(value, now_ms)


class Request:
    """An HTTP request being built; :meth:`send` it when complete. The
    builder methods change the request and return it, so they chain."""

    def __init__(self, method: Method, url: str):
        """A request with ``method`` (a ``wit_world.imports.types.Method_*``)
        to the absolute ``url``."""
        self._method = method
        self._url = url
        self._headers: List[Tuple[str, str]] = []
        self._body = b""
        # Why the request cannot be sent, found while building it; raised by
        # `send` so that the builder methods chain.
        self._invalid: Optional[str] = None
        self._timeout_seconds: Optional[float] = None
        self._max_response_bytes = DEFAULT_MAX_RESPONSE_BYTES

    @classmethod
    def get(cls, url: str) -> "Request":
        """A ``GET`` request."""
        return cls(Method_Get(), url)

    @classmethod
    def post(cls, url: str) -> "Request":
        """A ``POST`` request."""
        return cls(Method_Post(), url)

    @classmethod
    def put(cls, url: str) -> "Request":
        """A ``PUT`` request."""
        return cls(Method_Put(), url)

    @classmethod
    def patch(cls, url: str) -> "Request":
        """A ``PATCH`` request."""
        return cls(Method_Patch(), url)

    @classmethod
    def delete(cls, url: str) -> "Request":
        """A ``DELETE`` request."""
        return cls(Method_Delete(), url)

    def header(self, name: str, value: str) -> "Request":
        """Adds header ``name: value``; a header may be given several times."""
        self._headers.append((name, value))
        return self

    def bearer_auth(self, token: str) -> "Request":
        """Adds ``Authorization: Bearer <token>``."""
        return self.header("authorization", f"Bearer {token}")

    def authenticated(self, key: str) -> "Request":
        """Has the host authenticate the request with credential ``key``, as
        the manifest's ``[credentials.auth]`` table for it says; the
        component never sees the secret. The host refuses the request if its
        origin is not one the credential is bound to; a credential the host
        does not manage, or that the configuration leaves unset, makes
        :meth:`send` raise :attr:`HttpErrorKind.INVALID_REQUEST` naming it."""
        try:
            name, value = auth.request_header(key)
        except auth.AuthError as error:
            self._invalid = str(error)
            return self
        return self.header(name, value)

    def body(self, data: bytes) -> "Request":
        """Sets the body to ``data``, sent as it is."""
        self._body = bytes(data)
        return self

    def json(self, value: Any) -> "Request":
        """Sets the body to ``value`` serialised as JSON (UTF-8, not ASCII
        escaped), with ``Content-Type: application/json; charset=utf-8``."""
        try:
            text = _json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            self._invalid = f"the JSON body cannot be serialised: {error}"
            return self
        return self.json_text(text)

    def json_text(self, text: str) -> "Request":
        """Sets the body to an already serialised JSON document, with
        ``Content-Type: application/json; charset=utf-8``."""
        return self.header("content-type", "application/json; charset=utf-8").body(
            text.encode("utf-8")
        )

    def timeout(self, seconds: float) -> "Request":
        """Asks the host to give up connecting, waiting for the first byte,
        or waiting between two bytes after ``seconds``. The host's own limits
        apply in any case."""
        self._timeout_seconds = seconds
        return self

    def max_response_bytes(self, limit: int) -> "Request":
        """Sets the largest response body :meth:`send` reads before failing
        with :attr:`HttpErrorKind.RESPONSE_TOO_LARGE`; the default is
        :data:`DEFAULT_MAX_RESPONSE_BYTES`. The host's own cap applies in any
        case."""
        self._max_response_bytes = limit
        return self

    def send(self) -> Response:
        """Sends the request and reads the whole response; raises
        :class:`HttpError` when no response came."""
        if self._invalid is not None:
            raise HttpError(HttpErrorKind.INVALID_REQUEST, self._invalid)
        https, authority, path_with_query = parse_url(self._url)
        options = self._options()
        request = self._outgoing_request(https, authority, path_with_query)
        try:
            body = request.body()
        except Err:
            request.__exit__(None, None, None)
            raise _invalid("the request body was already taken")
        try:
            pending = outgoing_handler.handle(request, options)
        except Err as error:
            body.__exit__(None, None, None)
            raise HttpError.from_code(error.value)
        # The body is written after `handle` so that the host streams it out
        # as it comes; written before, a large body would fill the host's
        # buffer with nobody reading it.
        write_error = _write_body(body, self._body)
        try:
            incoming = _wait_for(pending)
        except HttpError as host_error:
            # The host's reason (a refused origin, a refused connection) says
            # more than the closed stream that the write saw.
            raise host_error from write_error
        finally:
            pending.__exit__(None, None, None)
        # An answer counts even when the body could not be written whole:
        # the remote system received the request and answered it.
        return _read_response(incoming, self._max_response_bytes)

    def _outgoing_request(self, https: bool, authority: str, path: str) -> OutgoingRequest:
        entries = [(name.lower(), value.encode("utf-8")) for name, value in self._headers]
        if self._body or isinstance(self._method, (Method_Post, Method_Put, Method_Patch)):
            # Announced even when empty, as servers expect for these methods.
            entries.append(("content-length", str(len(self._body)).encode("ascii")))
        try:
            headers = Fields.from_list(entries)
        except Err as error:
            raise _invalid(f"a header is not allowed or malformed: {error.value}")
        request = OutgoingRequest(headers)
        try:
            _set(request.set_method, self._method, f"method {self._method} is not valid")
            scheme = Scheme_Https() if https else Scheme_Http()
            _set(request.set_scheme, scheme, "the URL scheme is not valid")
            _set(request.set_authority, authority, f"host {authority!r} is not valid")
            _set(request.set_path_with_query, path, f"path {path!r} is not valid")
        except HttpError:
            request.__exit__(None, None, None)
            raise
        return request

    def _options(self) -> Optional[RequestOptions]:
        if self._timeout_seconds is None:
            return None
        nanos = int(self._timeout_seconds * 1_000_000_000)
        options = RequestOptions()
        unsupported = "the host does not support request timeouts"
        _set(options.set_connect_timeout, nanos, unsupported)
        _set(options.set_first_byte_timeout, nanos, unsupported)
        _set(options.set_between_bytes_timeout, nanos, unsupported)
        return options


def parse_url(url: str) -> Tuple[bool, str, str]:
    """Splits an absolute ``http`` or ``https`` URL into (is https,
    ``host[:port]``, path with query), the fragment dropped; raises
    :class:`HttpError` of kind :attr:`HttpErrorKind.INVALID_REQUEST` saying
    what is wrong with it."""
    if any(c.isspace() or not c.isprintable() for c in url):
        raise _invalid(f"URL {url!r} contains whitespace or control characters")
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise _invalid(f"URL {url!r} is not absolute")
    if scheme.lower() not in ("http", "https"):
        raise _invalid(f"URL {url!r} is not http or https")
    rest = rest.split("#", 1)[0]
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, path = rest[:end], rest[end:]
    if not authority:
        raise _invalid(f"URL {url!r} has no host")
    if "@" in authority:
        raise _invalid(f"URL {url!r} carries user info; send credentials in headers")
    if not path:
        path = "/"
    elif path.startswith("?"):
        path = "/" + path
    return scheme.lower() == "https", authority, path


def _invalid(problem: str) -> HttpError:
    return HttpError(HttpErrorKind.INVALID_REQUEST, problem)


def _set(setter, value, problem: str) -> None:
    """Calls a ``wasi:http`` setter, whose refusal is a bare ``Err(None)``."""
    try:
        setter(value)
    except Err:
        raise _invalid(problem)


def _stream_error(error, closed: str) -> HttpError:
    """The error behind a failed stream operation, as the host reported it."""
    if isinstance(error, StreamError_LastOperationFailed):
        code = http_error_code(error.value)
        detail = error.value.to_debug_string()
        error.value.__exit__(None, None, None)
        if code is not None:
            return HttpError.from_code(code)
        return HttpError(HttpErrorKind.CONNECTION, detail)
    return HttpError(HttpErrorKind.CONNECTION, closed)


def _write_body(body: OutgoingBody, data: bytes) -> Optional[HttpError]:
    """Writes ``data`` into the request body and finishes it; returns why it
    could not, after abandoning the body (which ends the request)."""
    try:
        stream = body.write()
    except Err:
        body.__exit__(None, None, None)
        return _invalid("the request body stream was already taken")
    failure = None
    try:
        offset = 0
        while offset < len(data):
            allowed = stream.check_write()
            if allowed == 0:
                with stream.subscribe() as writable:
                    writable.block()
                continue
            stream.write(data[offset : offset + allowed])
            offset += allowed
    except Err as error:
        failure = _stream_error(error.value, "the request body stream closed early")
    finally:
        # No flush after the last write: the host may already have closed
        # the stream, having read the announced length (see the module's
        # documentation); the written bytes are the host's already.
        stream.__exit__(None, None, None)
    if failure is not None:
        body.__exit__(None, None, None)
        return failure
    try:
        OutgoingBody.finish(body, None)
    except Err as error:
        return HttpError.from_code(error.value)
    return None


def _wait_for(pending: FutureIncomingResponse) -> IncomingResponse:
    """Blocks until the response head arrives or the request fails."""
    while True:
        result = pending.get()
        if result is None:
            with pending.subscribe() as ready:
                ready.block()
            continue
        if isinstance(result, Err):
            raise HttpError(HttpErrorKind.PROTOCOL, "the response was already taken")
        answer = result.value
        if isinstance(answer, Ok):
            return answer.value
        raise HttpError.from_code(answer.value)


def _read_response(incoming: IncomingResponse, limit: int) -> Response:
    """Reads status, headers and at most ``limit`` bytes of body, dropping
    each resource before its parent as ``wasi:http`` requires."""
    try:
        status = incoming.status()
        with incoming.headers() as fields:
            headers = [(name, value.decode("utf-8", "replace")) for name, value in fields.entries()]
        try:
            body = incoming.consume()
        except Err:
            raise HttpError(HttpErrorKind.PROTOCOL, "the response body was already taken")
        with body:
            try:
                stream = body.stream()
            except Err:
                raise HttpError(
                    HttpErrorKind.PROTOCOL, "the response body stream was already taken"
                )
            with stream:
                return Response(status, headers, _read_all(stream, limit))
    finally:
        incoming.__exit__(None, None, None)


def _read_all(stream, limit: int) -> bytes:
    chunks = []
    size = 0
    while True:
        try:
            chunk = stream.blocking_read(_READ_CHUNK_BYTES)
        except Err as error:
            if isinstance(error.value, StreamError_Closed):
                return b"".join(chunks)
            raise _stream_error(error.value, "the response body closed early")
        size += len(chunk)
        if size > limit:
            raise HttpError(
                HttpErrorKind.RESPONSE_TOO_LARGE, f"the response body exceeds {limit} bytes"
            )
        chunks.append(chunk)
