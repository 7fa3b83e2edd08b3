"""What every provider adapter is: payload → Snapshot, job id → JobResult. No Discord here."""

from __future__ import annotations

import abc
from typing import ClassVar

from bot.models import JobResult, Snapshot
from bot.useapi import UseapiClient


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

    def __init__(self, client: UseapiClient) -> None:
        self.client = client

    @abc.abstractmethod
    async def snapshot(self) -> Snapshot:
        """Fetch what is running now and the per-account capacity."""

    @abc.abstractmethod
    async def job(self, job_id: str) -> JobResult:
        """Fetch one job's outcome (`Outcome.RUNNING` when it is not finished yet)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
