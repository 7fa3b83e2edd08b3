"""What every provider adapter is: payload → Snapshot, job id → JobResult. No Discord here."""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, TypeVar

from bot.errors import NotFound, PayloadError, UpstreamError
from bot.models import AccountHealth, JobResult, Snapshot
from bot.useapi import UseapiClient

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class Provider(abc.ABC):
    """One useapi.net provider (PixVerse, MiniMax, …).

    Subclasses live in `bot/providers/<name>.py` and expose themselves as `PROVIDER = Cls`.
    `snapshot()` makes the provider's scheduler call (plus one capacity call where needed);
    `job()` resolves one job's outcome. Both raise `bot.errors.UpstreamError` subclasses,
    `PayloadError` naming the provider and field when a body cannot be understood.
    """

    #: Key used in settings (`PROVIDERS`), slash-command choices and JSON output.
    name: ClassVar[str]
    #: Human name for embeds and tables.
    title: ClassVar[str]

    #: Whether useapi can stop tracking one of its running jobs (`untrack`,
    #: `DELETE …/scheduler/{id}`). Where it cannot, `/cancel` refuses in words.
    can_untrack: ClassVar[bool] = False

    #: Where a replyUrl body holds one of its job ids, tried in order (`a.b`: key `b` of the
    #: object under `a`); see `bot.hooks.shape`.
    reply_keys: ClassVar[tuple[str, ...]] = ()

    #: What every one of its job ids holds and no other provider's does (`owns`).
    id_marker: ClassVar[str] = ""

    def owns(self, value: object) -> bool:
        """Whether `value`, as a replyUrl body holds it (a string, a number), is shaped like one
        of its own job ids, so that a body that names no provider can be told apart from
        another provider's (`bot.hooks.shape`): a string holding its `id_marker`."""
        return bool(self.id_marker) and isinstance(value, str) and self.id_marker in value

    def __init__(self, client: UseapiClient) -> None:
        self.client = client

    @abc.abstractmethod
    async def snapshot(self) -> Snapshot:
        """Fetch what is running now and the per-account capacity."""

    @abc.abstractmethod
    async def job(self, job_id: str) -> JobResult:
        """Fetch one job's outcome (`Outcome.RUNNING` when it is not finished yet)."""

    async def accounts(self) -> tuple[AccountHealth, ...]:
        """Each configured account's health from the provider's accounts endpoint (its `error`,
        when its session or token ends), for the account checks. None configured: ()."""
        return ()

    async def _accounts_at(
        self, path: str, parse: Callable[[Any], tuple[AccountHealth, ...]]
    ) -> tuple[AccountHealth, ...]:
        """`accounts()` of a provider whose accounts endpoint is `path`, its body read by
        `parse`: a 404 is useapi's "no account configured", so no account: ()."""
        try:
            body = await self.client.get_json(path, provider=self.name)
        except NotFound:
            return ()
        return parse(body)

    async def untrack(self, job_id: str) -> None:
        """Ask useapi to stop tracking running job `job_id` (only where `can_untrack`): useapi
        stops its callbacks, the generation may still run upstream. `NotFound` when useapi
        runs no such job."""
        raise NotImplementedError(f"{self.title} has no way to untrack a job")

    async def fetch(self) -> Snapshot:
        """`snapshot()` for callers: it raises `UpstreamError` subclasses only (see `_guard`)."""
        return await _guard(self.snapshot(), self.name)

    async def fetch_job(self, job_id: str) -> JobResult:
        """`job(job_id)` for callers: it raises `UpstreamError` subclasses only."""
        return await _guard(self.job(job_id), self.name)

    async def fetch_accounts(self) -> tuple[AccountHealth, ...]:
        """`accounts()` for callers: it raises `UpstreamError` subclasses only."""
        return await _guard(self.accounts(), self.name)

    async def fetch_untrack(self, job_id: str) -> None:
        """`untrack(job_id)` for callers: it raises `UpstreamError` subclasses only."""
        await _guard(self.untrack(job_id), self.name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


async def _guard(call: Coroutine[Any, Any, _T], provider: str) -> _T:
    """Await an adapter call. Anything it raises besides an `UpstreamError` (a value the
    adapter did not expect; a bug) becomes a `PayloadError` of that provider, logged with its
    traceback: every caller (watcher, commands, `opsbot status`) handles one error type, and
    an adapter bug reads as what it is to users, an answer opsbot cannot read."""
    try:
        return await call
    except UpstreamError:
        raise
    except Exception as exc:
        log.error("%s: the adapter failed on useapi's answer", provider, exc_info=exc)
        text = str(exc)
        text = text if len(text) <= 200 else text[:199] + "…"
        raise PayloadError(
            f"could not read useapi's answer ({type(exc).__name__}: {text})", provider=provider
        ) from None
