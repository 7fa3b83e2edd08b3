"""The one HTTP client for useapi.net: bearer auth, timeouts, typed errors, bounded retries.

Every call is bounded twice: in time (`deadline`: connect, headers and the whole body, every
retry and backoff included) and in size (`max_body`: a 2xx body is streamed and counted, and
refused past the cap). Whatever upstream sends is read for the token it may echo (see
`bot.tokenmask`), after decoding, before anyone else sees it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final

import httpx
import stamina
from pydantic import SecretStr

from bot import errors, metrics
from bot.fastjson import loads
from bot.tokenmask import TokenMask

log = logging.getLogger(__name__)

#: How much of an unparseable body to quote in an error message.
_SNIPPET = 120
#: What is read of an error (4xx/5xx) body: enough for useapi's `{"error": …}`; past it the
#: status's reason phrase stands in.
ERROR_BODY_CAP: Final = 64 * 1024
#: Defaults of the two bounds (see `UseapiClient`).
DEFAULT_DEADLINE: Final = 20.0
DEFAULT_MAX_BODY: Final = 32 * 1024 * 1024


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text[:_SNIPPET] + ("…" if len(text) > _SNIPPET else "")


def _size(n: int) -> str:
    """`32 MiB`, `64 KiB` or `1000 bytes`: a cap as an operator would have written it."""
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} bytes"


def _declared_over(response: httpx.Response, cap: int) -> bool:
    """Whether Content-Length already says the body is larger than `cap`. Only for a body sent
    as is: a compressed one's length says nothing about what it decodes to (that is counted
    as it arrives)."""
    if response.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity"):
        return False
    try:
        return int(response.headers.get("Content-Length", "")) > cap
    except ValueError:
        return False


async def _read_capped(response: httpx.Response, cap: int) -> bytes | None:
    """The decoded body, or None as soon as it grows past `cap` bytes (the rest is not read).
    Counting decoded bytes also bounds a compressed body that inflates beyond the cap."""
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            return None
        parts.append(chunk)
    return b"".join(parts)


def _text(body: bytes, response: httpx.Response) -> str:
    try:
        return body.decode(response.charset_encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", "replace")


class UseapiClient:
    """Shared async client. One instance per process; providers call `get_json`.

    Retries 429, 5xx, timeouts of one read and connection errors with exponential backoff and
    jitter, at most `attempts` tries, and none once `retry_timeout` seconds have passed.
    Everything else is raised at once as a subclass of `bot.errors.UpstreamError`.

    Bounds (public attributes, so a test may shrink them on a running bot's client):

    * `deadline` (default 20 s): the most one `get_json` takes, however the upstream behaves —
      connect, headers, the whole body, every retry and backoff. `timeout` (10 s) bounds each
      read and `connect_timeout` (5 s) each connect, but a body dribbled a byte at a time
      never trips those; the deadline does (`DeadlineExceeded`, "no complete answer within
      20 s", not retried: it covers every attempt). A provider's snapshot makes its requests
      side by side, so one snapshot takes at most one deadline — two for MiniMax, whose
      capacity falls back to `/accounts` after a 404 from `/scheduler/available`.
    * `max_body` (default 32 MiB, ~10x the largest list at 50,000 jobs): a larger 2xx body is
      refused (`BodyTooLarge`, not retried) — unread when Content-Length says so, else as soon
      as the count passes the cap. Error bodies are read up to `ERROR_BODY_CAP` only.

    A 3xx is never followed (the token must not travel to another host): `Redirected`.
    """

    def __init__(
        self,
        base_url: str,
        token: SecretStr | None,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        deadline: float = DEFAULT_DEADLINE,
        max_body: int = DEFAULT_MAX_BODY,
        max_connections: int = 20,
        attempts: int = 4,
        retry_timeout: float = 15.0,
        wait_initial: float = 0.5,
        wait_max: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if deadline <= 0 or max_body < 0:
            raise ValueError("deadline must be positive and max_body not negative")
        headers = {"Accept": "application/json", "User-Agent": "opsbot"}
        self._mask: TokenMask | None = None
        if token is not None and token.get_secret_value():
            self._mask = TokenMask(token.get_secret_value())
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            follow_redirects=False,
        )
        self.base_url = base_url.rstrip("/")
        #: Seconds one `get_json` may take in all (see the class doc).
        self.deadline = deadline
        #: Bytes a 2xx body may have (see the class doc).
        self.max_body = max_body
        self.attempts = attempts
        self.retry_timeout = retry_timeout
        self.wait_initial = wait_initial
        self.wait_max = wait_max
        #: Requests sent, by provider (every attempt counts: this is what useapi sees).
        self.calls: Counter[str] = Counter()

    def __repr__(self) -> str:  # never the headers: they hold the token
        return f"UseapiClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> UseapiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def mask(self, text: str) -> str:
        """`text` with any run of the token's characters masked (see `bot.tokenmask`)."""
        return self._mask.text(text) if self._mask is not None else text

    async def get_json(
        self,
        path: str,
        *,
        provider: str,
        params: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> Any:
        """GET `path` and return the decoded JSON body, retrying transient failures; never
        longer than `deadline` seconds in all."""
        bound = asyncio.timeout(self.deadline)
        try:
            async with bound:
                if not retry:
                    return await self._once("GET", path, provider, params)
                async for attempt in stamina.retry_context(
                    on=_is_retryable,
                    attempts=self.attempts,
                    timeout=self.retry_timeout,
                    wait_initial=self.wait_initial,
                    wait_max=self.wait_max,
                    wait_jitter=self.wait_initial,
                ):
                    with attempt:
                        return await self._once("GET", path, provider, params)
        except TimeoutError:
            if not bound.expired():
                raise
            raise errors.DeadlineExceeded(
                f"no complete answer within {self.deadline:g} s", provider=provider, path=path
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def delete(self, path: str, *, provider: str) -> Any:
        """DELETE `path` once (no retry: a retried DELETE whose first attempt landed would
        read 404 and report a success as a failure) within `deadline`; the decoded body, None
        when there is none (204)."""
        bound = asyncio.timeout(self.deadline)
        try:
            async with bound:
                return await self._once("DELETE", path, provider, None)
        except TimeoutError:
            if not bound.expired():
                raise
            raise errors.DeadlineExceeded(
                f"no complete answer within {self.deadline:g} s", provider=provider, path=path
            ) from None

    async def _once(
        self, method: str, path: str, provider: str, params: Mapping[str, str] | None
    ) -> Any:
        """One attempt: send, read within the caps, raise what the status or body says is wrong,
        decode (an empty 2xx body is None)."""
        self.calls[provider] += 1
        metrics.UPSTREAM_CALLS.labels(provider).inc()
        started = time.perf_counter()
        request = self._http.build_request(method, path, params=dict(params) if params else None)
        try:
            response, body, declared_over = await self._receive(request, path, provider)
        except errors.UpstreamError as exc:  # no answer (or a redirect: its status)
            metrics.UPSTREAM_RESPONSES.labels(provider, str(exc.status or "none")).inc()
            raise
        status = response.status_code
        metrics.UPSTREAM_RESPONSES.labels(provider, str(status)).inc()
        log.debug(
            "%s %s -> %s in %.0f ms", method, path, status, (time.perf_counter() - started) * 1000
        )
        if status >= 400:
            cls = errors.error_for_status(status)
            raise cls(
                self._error_message(response, body), provider=provider, status=status, path=path
            )
        if body is None:
            how = "not read" if declared_over else "stopped reading"
            raise errors.BodyTooLarge(
                f"body larger than {_size(self.max_body)} ({how})",
                provider=provider,
                status=status,
                path=path,
            )
        if not body and method != "GET":
            return None
        return self._decode(body, response, path, provider)

    async def _receive(
        self, request: httpx.Request, path: str, provider: str
    ) -> tuple[httpx.Response, bytes | None, bool]:
        """Send `request` and read its body within the cap (a 2xx's `max_body`, an error's
        `ERROR_BODY_CAP`): the response (closed), the body (None past the cap) and whether
        Content-Length already said so. A 3xx raises `Redirected`; whatever httpx raises
        becomes one of our errors."""
        try:
            response = await self._http.send(request, stream=True)
            try:
                status = response.status_code
                if 300 <= status < 400:
                    raise errors.Redirected(
                        self._redirect_message(response),
                        provider=provider,
                        status=status,
                        path=path,
                    )
                cap = self.max_body if status < 400 else ERROR_BODY_CAP
                declared_over = _declared_over(response, cap)
                body = None if declared_over else await _read_capped(response, cap)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise errors.UpstreamTimeout(
                f"no answer from useapi ({type(exc).__name__})", provider=provider, path=path
            ) from None
        except httpx.TransportError as exc:
            raise errors.ConnectionFailed(
                f"cannot reach useapi ({type(exc).__name__})", provider=provider, path=path
            ) from None
        except httpx.DecodingError as exc:  # e.g. a proxy's bad gzip: a body we cannot read
            raise errors.PayloadError(
                f"useapi sent a body that cannot be decoded ({type(exc).__name__})",
                provider=provider,
                path=path,
            ) from None
        except httpx.HTTPError as exc:  # anything else httpx raises stays in our error tree
            raise errors.ConnectionFailed(
                f"request to useapi failed ({type(exc).__name__})", provider=provider, path=path
            ) from None
        return response, body, declared_over

    def _decode(self, body: bytes, response: httpx.Response, path: str, provider: str) -> Any:
        """The JSON value of a 2xx body, with any token it echoes masked."""
        try:
            value = loads(body)
        except (ValueError, RecursionError) as exc:
            what = (
                "JSON nested too deep to read"
                if isinstance(exc, RecursionError)
                else f"a body that is not JSON: {_snippet(self.mask(_text(body, response)))!r}"
            )
            raise errors.PayloadError(
                f"useapi sent {what}", provider=provider, status=response.status_code, path=path
            ) from None
        if self._mask is not None and self._mask.may_hold(body):
            value = self._mask.value(value)  # an echoed token, maybe escaped or cut short
        return value

    def _error_message(self, response: httpx.Response, body: bytes | None) -> str:
        """useapi's `{"error": "...", "code": N}` message, or something readable in its place."""
        try:
            decoded = loads(body) if body else None
        except (ValueError, RecursionError):
            decoded = None
        if isinstance(decoded, dict):
            msg = decoded.get("error") or decoded.get("message")
            if isinstance(msg, str) and msg.strip():
                return _snippet(self.mask(msg))
        # A hostile proxy may put the token in the reason phrase too.
        return self.mask(response.reason_phrase) or f"HTTP {response.status_code}"

    def _redirect_message(self, response: httpx.Response) -> str:
        """Where a 3xx pointed, without its query, fragment or user info (they may carry
        secrets): the path when it stays on our host, else scheme, host and path."""
        location = response.headers.get("Location", "").strip()
        if not location:
            return "redirected without a Location (not followed)"
        try:
            target = response.url.join(location)
        except httpx.InvalidURL:
            return "redirected to an invalid URL (not followed)"
        path = target.raw_path.split(b"?", 1)[0].decode("ascii", "replace")
        here = response.url
        if (target.scheme, target.host, target.port) == (here.scheme, here.host, here.port):
            return f"redirected to {_snippet(self.mask(path))} (not followed)"
        host = f"[{target.host}]" if ":" in target.host else target.host
        where = f"{target.scheme}://{host}{f':{target.port}' if target.port else ''}"
        return f"redirected to another host (not followed): {_snippet(self.mask(where + path))}"


def _is_retryable(exc: Exception) -> bool:
    return isinstance(exc, errors.UpstreamError) and exc.retryable
