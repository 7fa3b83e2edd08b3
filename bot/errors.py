"""One exception tree for everything that can go wrong upstream.

Callers catch at the level they care about: `UpstreamError` for "useapi did not give us
data", `HTTPStatusError` subclasses for a specific status, `PayloadError` for a body we
could not understand. Messages never contain the API token (the client never puts it in).
"""

from __future__ import annotations


class UpstreamError(Exception):
    """Base: a call to useapi.net did not produce usable data."""

    status: int | None = None

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        if status is not None:
            self.status = status
        self.path = path

    @property
    def retryable(self) -> bool:
        return False

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        code = f" ({self.status})" if self.status is not None else ""
        return f"{where}{self.message}{code}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, status={self.status!r}, "
            f"message={self.message!r})"
        )


class TransportError(UpstreamError):
    """No HTTP answer at all."""

    @property
    def retryable(self) -> bool:
        return True


class UpstreamTimeout(TransportError):
    """useapi did not answer within the configured timeout."""


class ConnectionFailed(TransportError):
    """Could not connect to useapi (DNS, refused, reset)."""


class DeadlineExceeded(UpstreamTimeout):
    """No complete answer (connect, headers and the whole body, retries included) within the
    client's deadline: e.g. a body dribbled a byte at a time, each byte within the read
    timeout. Not retryable: the deadline covers every attempt, so none is left."""

    @property
    def retryable(self) -> bool:
        return False


class HTTPStatusError(UpstreamError):
    """useapi answered with an error status; `message` is its `error` field when it gave one."""


class BadRequest(HTTPStatusError):
    status = 400


class Unauthorized(HTTPStatusError):
    status = 401


class PaymentRequired(HTTPStatusError):
    status = 402


class NotFound(HTTPStatusError):
    status = 404


class Gone(HTTPStatusError):
    status = 410


class InsufficientCredits(HTTPStatusError):
    status = 412


class ModeratedPrompt(HTTPStatusError):
    status = 422


class RateLimited(HTTPStatusError):
    status = 429

    @property
    def retryable(self) -> bool:
        return True


class SessionExpired(HTTPStatusError):
    """596: useapi's own code for an account whose provider session expired."""

    status = 596


class Redirected(HTTPStatusError):
    """A 3xx: the client follows no redirect (the bearer token must not travel to another
    host, and useapi's documented endpoints never redirect). `status` is the 3xx code.
    Not retryable: a redirect is a wrong base URL or a moved endpoint, not a passing fault."""


class ServerError(HTTPStatusError):
    """5xx from useapi or the provider behind it."""

    @property
    def retryable(self) -> bool:
        return True


class PayloadError(UpstreamError):
    """A 2xx body that is not JSON, or JSON that does not fit the documented shape."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        field: str | None = None,
        status: int | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, path=path)
        self.field = field

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        at = f" at {self.field!r}" if self.field else ""
        return f"{where}{self.message}{at}"


class BodyTooLarge(PayloadError):
    """A 2xx body larger than the client's cap (declared by Content-Length, or counted as it
    arrived): not read, or not read further. Not retryable: the next attempt would download
    as much again; the next tick tries anew."""


_BY_STATUS: dict[int, type[HTTPStatusError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        PaymentRequired,
        NotFound,
        Gone,
        InsufficientCredits,
        ModeratedPrompt,
        RateLimited,
        SessionExpired,
    )
}


def error_for_status(status: int) -> type[HTTPStatusError]:
    """The exception class for an HTTP status (5xx → ServerError, unknown → HTTPStatusError)."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 500 <= status < 600:
        return ServerError
    return HTTPStatusError
