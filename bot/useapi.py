"""The one HTTP client for useapi.net: bearer auth, timeouts, typed errors, bounded retries."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx
import stamina
from pydantic import SecretStr

from bot import errors, metrics
from bot.fastjson import loads

log = logging.getLogger(__name__)

#: How much of an unparseable body to quote in an error message.
_SNIPPET = 120


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text[:_SNIPPET] + ("…" if len(text) > _SNIPPET else "")


def _mask(text: str, secret: str | None) -> str:
    """Upstream (or a proxy in front of it) may echo the token back: keep it out of errors."""
    return text.replace(secret, "***") if secret else text


def _error_message(response: httpx.Response, secret: str | None = None) -> str:
    """useapi's `{"error": "...", "code": N}` message, or something readable in its place."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        msg = body.get("error") or body.get("message")
        if isinstance(msg, str) and msg.strip():
            return _snippet(_mask(msg, secret))
    return response.reason_phrase or f"HTTP {response.status_code}"


class UseapiClient:
    """Shared async client. One instance per process; providers call `get_json`.

    Retries 429, 5xx, timeouts and connection errors with exponential backoff and jitter,
    at most `attempts` tries and `retry_timeout` seconds in all. Everything else is raised
    at once as a subclass of `bot.errors.UpstreamError`.
    """

    def __init__(
        self,
        base_url: str,
        token: SecretStr | None,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        max_connections: int = 20,
        attempts: int = 4,
        retry_timeout: float = 30.0,
        wait_initial: float = 0.5,
        wait_max: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": "opsbot"}
        self._secret: str | None = None
        if token is not None and token.get_secret_value():
            self._secret = token.get_secret_value()
            headers["Authorization"] = f"Bearer {self._secret}"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            transport=transport,
            follow_redirects=False,
        )
        self.base_url = base_url.rstrip("/")
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

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get_json(self, path: str, *, provider: str,
                       params: Mapping[str, str] | None = None, retry: bool = True) -> Any:
        """GET `path` and return the decoded JSON body, retrying transient failures."""
        if not retry:
            return await self._get_once(path, provider, params)
        async for attempt in stamina.retry_context(
            on=_is_retryable,
            attempts=self.attempts,
            timeout=self.retry_timeout,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
            wait_jitter=self.wait_initial,
        ):
            with attempt:
                return await self._get_once(path, provider, params)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get_once(self, path: str, provider: str,
                        params: Mapping[str, str] | None) -> Any:
        self.calls[provider] += 1
        metrics.UPSTREAM_CALLS.labels(provider).inc()
        started = time.perf_counter()
        try:
            response = await self._http.get(path, params=dict(params) if params else None)
        except httpx.TimeoutException as exc:
            raise errors.UpstreamTimeout(f"no answer from useapi ({type(exc).__name__})",
                                         provider=provider, path=path) from None
        except httpx.TransportError as exc:
            raise errors.ConnectionFailed(f"cannot reach useapi ({type(exc).__name__})",
                                          provider=provider, path=path) from None
        except httpx.DecodingError as exc:  # e.g. a proxy's bad gzip: a body we cannot read
            raise errors.PayloadError(f"useapi sent a body that cannot be decoded "
                                      f"({type(exc).__name__})", provider=provider,
                                      path=path) from None
        except httpx.HTTPError as exc:  # anything else httpx raises stays in our error tree
            raise errors.ConnectionFailed(f"request to useapi failed ({type(exc).__name__})",
                                          provider=provider, path=path) from None
        log.debug("GET %s -> %s in %.0f ms", path, response.status_code,
                  (time.perf_counter() - started) * 1000)
        if response.status_code >= 400:
            cls = errors.error_for_status(response.status_code)
            raise cls(_error_message(response, self._secret), provider=provider,
                      status=response.status_code, path=path)
        content = response.content
        if self._secret and self._secret.encode() in content:  # echoed back: mask it here too
            content = content.replace(self._secret.encode(), b"***")
        try:
            return loads(content)
        except ValueError:
            raise errors.PayloadError(
                "useapi sent a body that is not JSON: "
                f"{_snippet(_mask(response.text, self._secret))!r}",
                provider=provider, status=response.status_code, path=path) from None


def _is_retryable(exc: Exception) -> bool:
    return isinstance(exc, errors.UpstreamError) and exc.retryable
