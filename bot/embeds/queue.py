"""`/queue`: what is running, by provider and account, longest-running first, paginated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import discord
from discord.utils import format_dt

from bot.embeds.layout import (
    Block,
    chunk_lines,
    data_age,
    join_bounded,
    pages,
    plural,
    provider_title,
    reply_ref_parts,
    shown,
    span_name,
)
from bot.embeds.style import NEUTRAL, OK, WARN, kind_mark
from bot.models import Job, Snapshot, discord_user, is_stuck
from bot.stucklimit import limit_for
from bot.text import display_account, display_id, escape, fmt_duration, redact_email, short_id

__all__ = ["queue_pages"]

#: An account as a field name or in the title.
ACCOUNT_CHARS: Final = 80
#: The per-provider summary lines at the top of the first page.
SUMMARY_CHARS: Final = 1200

#: A job's `replyRef` text on its line.
REF_CHARS: Final = 60

#: A job with its elapsed seconds (None: unknown).
Timed = tuple[float | None, Job]


def _matches_account(job: Job, account: str) -> bool:
    if job.account is None:
        return False
    wanted = account.casefold()
    return job.account.casefold() == wanted or redact_email(job.account).casefold() == wanted


def _started(job: Job, taken_at: datetime) -> datetime | None:
    """When the job started: upstream's time, else worked back from its elapsed figure."""
    if job.started is not None:
        return job.started
    if job.elapsed_seconds is not None:
        return taken_at - timedelta(seconds=job.elapsed_seconds)
    return None


def _job_line(
    elapsed: float | None,
    job: Job,
    taken_at: datetime,
    stuck_s: float,
    redact: bool,
    percent: int | None = None,
) -> str:
    """``🎬 …video:7 · started <t:…:R> · 3m 57s · 42 % · ⚠ stuck``; for a job counted from
    its first sighting (`Job.seen`) ``🎬 …task:… · first seen <t:…:R> · seen for 3m 57s``.
    The percent is there when a callback's re-read told it (`LiveState.progress`)."""
    started = _started(job, taken_at)
    start = f"{job.start_label} {format_dt(started, 'R')}" if started else "start unknown"
    mark = " · ⚠ stuck" if is_stuck(elapsed, stuck_s) else ""
    ident = escape(short_id(display_id(job.id, redact)))
    took = f"seen for {fmt_duration(elapsed)}" if job.seen else fmt_duration(elapsed)
    done = f" · {percent} %" if percent is not None else ""
    ref = reply_ref_parts(job.reply_ref, REF_CHARS)
    who = f" · {ref[0].lower()} {ref[1]}" if ref else ""
    return f"{kind_mark(job.kind)} {ident} · {start} · {took}{done}{who}{mark}"


def _longest(items: Sequence[Timed]) -> float:
    return max((e for e, _ in items if e is not None), default=-1.0)


def _selected(snap: Snapshot, now: datetime, account: str | None, mine: int | None) -> list[Timed]:
    """The jobs of `snap` /queue lists (of `account`, for user `mine`), with their elapsed."""
    return [
        (j.elapsed(now, snap.taken_at), j)
        for j in snap.jobs
        if (account is None or _matches_account(j, account))
        and (mine is None or discord_user(j.reply_ref) == mine)
    ]


@dataclass(frozen=True, slots=True)
class _Part:
    """One provider's part of /queue: its summary line, its accounts' fields, its counts."""

    line: str
    blocks: list[Block]
    running: int
    stuck: int


def _provider_part(
    snap: Snapshot,
    timed: Sequence[Timed],
    *,
    ptitle: str,
    stuck_s: float,
    redact: bool,
    progress: Mapping[str, int],
    limits: Mapping[str, float] | None,
) -> _Part:
    """One provider's part: its summary line, and its jobs as fields, an account a block, the
    longest-running account and job first."""
    if not timed:
        return _Part(f"**{ptitle}** — nothing running", [], 0, 0)
    stuck = sum(1 for e, j in timed if is_stuck(e, limit_for(j.model, limits, stuck_s)))
    line = f"**{ptitle}** — {len(timed)} running" + (f" · ⚠ {stuck} stuck" if stuck else "")
    by_account: dict[str | None, list[Timed]] = {}
    for e, j in timed:
        by_account.setdefault(j.account, []).append((e, j))
    blocks: list[Block] = []
    # Ties (same longest run) by name: a snapshot's own order means nothing (a replica that
    # reads it back from the store has it by id), and two replicas must show the same page.
    ordered = sorted(by_account.items(), key=lambda kv: (-_longest(kv[1]), kv[0] or ""))
    for acct, items in ordered:
        items.sort(key=lambda t: (t[0] is None, -(t[0] or 0.0), t[1].id))
        lines = [
            _job_line(
                e, j, snap.taken_at, limit_for(j.model, limits, stuck_s), redact, progress.get(j.id)
            )
            for e, j in items
        ]
        label = (
            shown(display_account(acct, redact), False, ACCOUNT_CHARS)
            if acct
            else "account unknown"
        )
        head = f"{ptitle} · {label} ({plural(len(items), 'job')})"
        blocks.extend(chunk_lines(lines, span_name(head, len(items))))
    return _Part(line, blocks, len(timed), stuck)


def queue_pages(
    snapshots: Sequence[Snapshot],
    *,
    now: datetime,
    stuck_after: timedelta,
    redact: bool,
    titles: Mapping[str, str],
    account: str | None = None,
    fetched_at: datetime | None = None,
    progress: Mapping[str, Mapping[str, int]] | None = None,
    mine: int | None = None,
    stuck_limits: Mapping[str, Mapping[str, float]] | None = None,
) -> list[discord.Embed]:
    """What is running, grouped by provider and account, longest-running first, paginated.

    Each line: kind, short id, start (relative timestamp), elapsed (`Job.elapsed`), percent
    done where known (`progress`: provider → job id → percent), who it is for (`replyRef`),
    ⚠ when stuck: past its model's learned limit (`stuck_limits`: provider → model →
    seconds, `bot.stucklimit`), else `stuck_after`. `mine`: only the jobs whose `replyRef` is
    `discord:<mine>`. Always at least one page ("Nothing running" when empty)."""
    age = data_age(snapshots, now, fetched_at)
    who = f" · {shown(display_account(account, redact), False, ACCOUNT_CHARS)}" if account else ""
    if mine is not None:
        who += " · your jobs"
    parts = [
        _provider_part(
            snap,
            _selected(snap, now, account, mine),
            ptitle=provider_title(snap.provider, titles),
            stuck_s=stuck_after.total_seconds(),
            redact=redact,
            progress=(progress or {}).get(snap.provider, {}),
            limits=(stuck_limits or {}).get(snap.provider),
        )
        for snap in snapshots
    ]
    total = sum(part.running for part in parts)
    stuck_total = sum(part.stuck for part in parts)
    description = join_bounded(
        [part.line for part in parts], SUMMARY_CHARS, lambda n: f"… and {n} more providers"
    )
    if not total:
        if mine is not None:
            description = (
                f"None of the running jobs was submitted for you (a `replyRef` of "
                f"`discord:{mine}`).\n{description}"
            )
        return pages(
            [],
            title=f"Nothing running{who}",
            description=description,
            colour=OK,
            footer=lambda i, n: f"Data from {age} ago",
        )
    title = f"Queue{who} — {total} running" + (f", {stuck_total} stuck" if stuck_total else "")
    return pages(
        [block for part in parts for block in part.blocks],
        title=title,
        description=description,
        colour=WARN if stuck_total else NEUTRAL,
        footer=lambda i, n: f"Data from {age} ago · page {i}/{n} · longest-running first",
    )
