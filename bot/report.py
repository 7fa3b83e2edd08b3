"""One-shot team status: fetch every provider once, as JSON (`opsbot status --json`: a fixed
shape scripts rely on, see `to_json`) or tables."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from bot import errors
from bot.models import Account, Job, Snapshot
from bot.providers import Provider
from bot.text import no_limit, printable, redact_email


@dataclass(frozen=True, slots=True)
class ProviderReport:
    provider: str
    title: str
    snapshot: Snapshot | None
    error: errors.UpstreamError | None

    @property
    def ok(self) -> bool:
        return self.error is None


async def collect(providers: Sequence[Provider]) -> list[ProviderReport]:
    """Fetch every provider's snapshot concurrently; one failure does not hide the others."""

    async def one(p: Provider) -> ProviderReport:
        try:
            return ProviderReport(p.name, p.title, await p.fetch(), None)
        except errors.UpstreamError as exc:
            return ProviderReport(p.name, p.title, None, exc)

    return list(await asyncio.gather(*(one(p) for p in providers)))


def iso(dt: datetime | None, *, millis: bool = True) -> str | None:
    """ISO-8601 UTC with a Z, as useapi writes it."""
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _masked(value: str | None, redact: bool) -> str | None:
    return redact_email(value) if redact and value else value


def _shown(value: str | None, redact: bool, missing: str = "") -> Text:
    """A table cell of upstream text: masked when `redact`, never markup, no controls."""
    return Text(printable(_masked(value, redact) or missing))


def job_json(job: Job, redact: bool = False) -> dict[str, Any]:
    return {
        "id": _masked(job.id, redact),
        "kind": job.kind,
        "account": _masked(job.account, redact),
        "started": iso(job.started),
        "elapsed_seconds": job.elapsed_seconds,
        "model": job.model,
    }


def account_json(acc: Account, redact: bool = False) -> dict[str, Any]:
    return {
        "account": _masked(acc.account, redact),
        "max_jobs": acc.max_jobs,
        "executing": acc.executing,
        "available": acc.available,
    }


def error_json(exc: errors.UpstreamError | None, redact: bool = False) -> dict[str, Any] | None:
    if exc is None:
        return None
    return {"status": exc.status, "message": _masked(exc.message, redact)}


def to_json(
    reports: Sequence[ProviderReport], taken_at: datetime, *, redact: bool = False
) -> dict[str, Any]:
    """The `opsbot status --json` document (e-mails masked with `redact`)."""
    return {
        "taken_at": iso(taken_at, millis=False),
        "providers": [
            {
                "provider": r.provider,
                "ok": r.ok,
                "error": error_json(r.error, redact),
                "jobs": [job_json(j, redact) for j in r.snapshot.jobs] if r.snapshot else [],
                "accounts": (
                    [account_json(a, redact) for a in r.snapshot.accounts] if r.snapshot else []
                ),
            }
            for r in reports
        ],
    }


def _elapsed(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _num(value: int | None) -> str:
    return "?" if value is None else str(value)


def tables(
    reports: Sequence[ProviderReport], *, max_jobs_shown: int = 50, redact: bool = False
) -> RenderableType:
    """Rich rendering: per provider a queue table and a capacity table, or its error."""
    parts: list[RenderableType] = []
    for r in reports:
        if r.snapshot is None:
            parts.append(
                Text(
                    f"✗ {r.title}: {printable(_masked(str(r.error), redact) or '')}",
                    style="bold red",
                )
            )
            continue
        snap = r.snapshot
        queue = Table(
            title=f"{r.title} — {len(snap.jobs)} running", title_justify="left", expand=False
        )
        for col in ("job", "kind", "account", "started", "elapsed"):
            queue.add_column(col, overflow="fold")
        ordered = sorted(snap.jobs, key=lambda j: j.elapsed_seconds or 0, reverse=True)
        for job in ordered[:max_jobs_shown]:
            queue.add_row(
                _shown(job.id, redact),
                job.kind or "—",
                _shown(job.account, redact, "—"),
                iso(job.started, millis=False) or "—",
                _elapsed(job.elapsed_seconds),
            )
        if len(ordered) > max_jobs_shown:
            queue.caption = f"… and {len(ordered) - max_jobs_shown} more (longest-running first)"
        limit = f" — {no_limit(snap.used)}" if snap.no_limit else ""
        cap = Table(title=f"{r.title} capacity{limit}", title_justify="left")
        for col in ("account", "executing", "max jobs", "available"):
            cap.add_column(col)
        for acc in snap.accounts:
            style = "red" if acc.full else None  # exhausted, as the watcher would announce it
            cap.add_row(
                _shown(acc.account, redact),
                str(acc.executing),
                _num(acc.max_jobs),
                _num(acc.available),
                style=style,
            )
        parts += [queue, cap]
    return Group(*parts)


def print_tables(
    console: Console, reports: Sequence[ProviderReport], *, redact: bool = False
) -> None:
    console.print(tables(reports, redact=redact))
