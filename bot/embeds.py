"""Snapshots, job results and events → `discord.Embed`. Pure: no HTTP, no clock, no state.

Every builder takes normalised data (`bot.models`, `bot.events`) plus `now` where time matters,
and returns embeds that are already inside every Discord limit (see `check_limits`). Every string
that came from upstream goes through `_u` (redact when asked, then `bot.text.escape`), so ids,
accounts, prompts and error texts can neither format, link nor mention.
"""

from __future__ import annotations

import re
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import discord
from discord.utils import format_dt

from bot import errors
from bot.events import Event, EventKind
from bot.models import Account, Job, JobResult, Outcome, Snapshot
from bot.text import (
    ELLIPSIS,
    bar,
    display_account,
    display_id,
    escape,
    fmt_duration,
    redact_email,
    short_id,
    truncate,
)

__all__ = [
    "BAD",
    "NEUTRAL",
    "OK",
    "WARN",
    "EmbedLimitError",
    "ProviderStatus",
    "alert_batch",
    "alert_embed",
    "alert_title",
    "board_embed",
    "capacity_pages",
    "check_limits",
    "embed_size",
    "error_embed",
    "input_error_embed",
    "job_embed",
    "limit_problems",
    "queue_pages",
    "status_embed",
    "text_len",
]

# --- Discord's limits ---------------------------------------------------------------------

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
MESSAGE_TOTAL_MAX = 6000
MESSAGE_EMBEDS_MAX = 10

# What we aim for, well inside the limits, so a page reads comfortably.
PAGE_BUDGET = 3500
FIELD_LINES = 20
_FOOTER_RESERVE = 120
_MESSAGE_BUDGET = 5800  # alert summaries: one message, leave a little slack

# --- colours -----------------------------------------------------------------------------

OK = discord.Colour(0x57F287)
WARN = discord.Colour(0xF0B232)
BAD = discord.Colour(0xED4245)
NEUTRAL = discord.Colour(0x5865F2)

_SEVERITY = {NEUTRAL.value: 0, OK.value: 1, WARN.value: 2, BAD.value: 3}

_WORD_COLOUR: dict[str, discord.Colour] = {
    "completed": OK,
    "restored": OK,
    "recovered": OK,
    "running": NEUTRAL,
    "moderated": WARN,
    "cancelled": WARN,
    "stuck": WARN,
    "unknown": WARN,
    "failed": BAD,
    "exhausted": BAD,
    "unreachable": BAD,
    "unauthorized": BAD,
    "payment required": BAD,
}

# Order words are listed in summaries; anything else follows in first-seen order.
_WORD_ORDER = ("completed", "failed", "moderated", "cancelled", "stuck", "unknown",
               "exhausted", "restored", "unreachable", "unauthorized", "payment required",
               "recovered")

_KIND_EMOJI = {"video": "🎬", "image": "🖼️", "music": "🎵"}


# --- sizes and limits --------------------------------------------------------------------

def text_len(s: str | None) -> int:
    """Length as Discord may count it: UTF-16 code units (never less than `len(s)`)."""
    if not s:
        return 0
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def embed_size(embed: discord.Embed) -> int:
    """Characters that count toward the 6000 limit: title, description, field names and
    values, footer text and author name."""
    total = text_len(embed.title) + text_len(embed.description)
    total += sum(text_len(f.name) + text_len(f.value) for f in embed.fields)
    total += text_len(embed.footer.text) + text_len(embed.author.name)
    return total


class EmbedLimitError(ValueError):
    """Some embed (or the message they make up) is over a Discord limit."""


def limit_problems(embeds: Sequence[discord.Embed]) -> list[str]:
    """Every Discord limit the embeds break when sent together as one message ([] = fine)."""
    problems: list[str] = []
    if len(embeds) > MESSAGE_EMBEDS_MAX:
        problems.append(f"{len(embeds)} embeds in one message (max {MESSAGE_EMBEDS_MAX})")
    total = 0
    for i, e in enumerate(embeds):
        checks = [("title", e.title, TITLE_MAX), ("description", e.description, DESCRIPTION_MAX),
                  ("footer", e.footer.text, FOOTER_MAX), ("author", e.author.name, AUTHOR_MAX)]
        for what, text, limit in checks:
            if text_len(text) > limit:
                problems.append(f"embed {i}: {what} has {text_len(text)} chars (max {limit})")
        if len(e.fields) > FIELDS_MAX:
            problems.append(f"embed {i}: {len(e.fields)} fields (max {FIELDS_MAX})")
        for j, f in enumerate(e.fields):
            if not f.name or not f.value:
                problems.append(f"embed {i}: field {j} has an empty name or value")
            if text_len(f.name) > FIELD_NAME_MAX:
                problems.append(f"embed {i}: field {j} name has {text_len(f.name)} chars")
            if text_len(f.value) > FIELD_VALUE_MAX:
                problems.append(f"embed {i}: field {j} value has {text_len(f.value)} chars")
        size = embed_size(e)
        if size > EMBED_TOTAL_MAX:
            problems.append(f"embed {i}: {size} chars in total (max {EMBED_TOTAL_MAX})")
        total += size
    if total > MESSAGE_TOTAL_MAX:
        problems.append(f"{total} chars across the message (max {MESSAGE_TOTAL_MAX})")
    return problems


def check_limits(embeds: Sequence[discord.Embed] | discord.Embed) -> None:
    """Raise `EmbedLimitError` naming every limit broken by `embeds` as one message."""
    batch = [embeds] if isinstance(embeds, discord.Embed) else list(embeds)
    problems = limit_problems(batch)
    if problems:
        raise EmbedLimitError("; ".join(problems))


# --- small helpers -----------------------------------------------------------------------

def _cut(s: str, n: int) -> str:
    """Cut already-escaped text to `n` (UTF-16) characters without leaving a dangling escape."""
    if text_len(s) <= n:
        return s
    out = s[: max(n - 1, 0)]
    while out and text_len(out) > n - 1:
        out = out[:-1]
    trailing = len(out) - len(out.rstrip("\\"))
    if trailing % 2:
        out = out[:-1]
    return out + ELLIPSIS


def _u(s: str, redact: bool, n: int | None = None) -> str:
    """An upstream string made safe: e-mails masked when `redact`, cut to `n`, escaped."""
    if redact:
        s = redact_email(s)
    if n is not None:
        s = truncate(s, n)
    return escape(s)


def _title_of(provider: str, titles: Mapping[str, str]) -> str:
    return escape(truncate(titles.get(provider) or provider, 60))


def _worst(colours: Iterable[discord.Colour]) -> discord.Colour:
    worst = NEUTRAL
    for c in colours:
        if _SEVERITY.get(c.value, 0) > _SEVERITY.get(worst.value, 0):
            worst = c
    return worst


def _join_bounded(lines: Sequence[str], limit: int, more: Callable[[int], str]) -> str:
    """Join lines with newlines, dropping trailing ones (announced by `more(n)`) to fit."""
    out: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        add = text_len(line) + (1 if out else 0)
        tail = text_len(more(len(lines) - i)) + 1
        rest_fits = i == len(lines) - 1 or size + add + tail <= limit
        if size + add > limit or not rest_fits:
            out.append(more(len(lines) - i))
            break
        out.append(line)
        size += add
    return _cut("\n".join(out), limit)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _kind_mark(kind: str | None) -> str:
    return _KIND_EMOJI.get(kind or "", "•")


def _job_elapsed(job: Job, taken_at: datetime, now: datetime) -> float | None:
    """Seconds the job has been running as of `now` (upstream figure aged by the data's age)."""
    if job.elapsed_seconds is not None:
        return job.elapsed_seconds + max((now - taken_at).total_seconds(), 0.0)
    if job.started is not None:
        return max((now - job.started).total_seconds(), 0.0)
    return None


def _job_start(job: Job, taken_at: datetime) -> datetime | None:
    if job.started is not None:
        return job.started
    if job.elapsed_seconds is not None:
        return taken_at - timedelta(seconds=job.elapsed_seconds)
    return None


def _data_age(snapshots: Sequence[Snapshot], now: datetime, fetched_at: datetime | None) -> str:
    at = fetched_at or (min(s.taken_at for s in snapshots) if snapshots else now)
    return fmt_duration((now - at).total_seconds())


def _add_fields_bounded(embed: discord.Embed, fields: Sequence[tuple[str, str]],
                        more: Callable[[int], tuple[str, str]],
                        budget: int = _MESSAGE_BUDGET) -> None:
    """Add inline=False fields while the embed stays within `budget` characters and 25
    fields; what does not fit is announced by one `more(n)` field."""
    size = embed_size(embed)
    for i, (name, value) in enumerate(fields):
        name, value = _cut(name, FIELD_NAME_MAX), _cut(value, FIELD_VALUE_MAX)
        left = len(fields) - i
        tail_name, tail_value = more(left - 1)
        reserve = text_len(tail_name) + text_len(tail_value) if left > 1 else 0
        room_fields = len(embed.fields) < FIELDS_MAX - (1 if left > 1 else 0)
        if not room_fields or size + text_len(name) + text_len(value) + reserve > budget:
            n, v = more(left)
            embed.add_field(name=n, value=v, inline=False)
            return
        embed.add_field(name=name, value=value, inline=False)
        size += text_len(name) + text_len(value)


@dataclass(frozen=True, slots=True)
class _Block:
    name: str
    value: str


def _chunk_lines(lines: Sequence[str], name: Callable[[int, int, bool], str],
                 max_lines: int = FIELD_LINES) -> list[_Block]:
    """Split lines into field-sized blocks; `name(first, end, continued)` names each block."""
    spans: list[tuple[int, int, list[str]]] = []
    cur: list[str] = []
    size = 0
    start = 0
    for i, raw in enumerate(lines):
        line = _cut(raw, FIELD_VALUE_MAX)
        add = text_len(line) + (1 if cur else 0)
        if cur and (len(cur) >= max_lines or size + add > FIELD_VALUE_MAX):
            spans.append((start, i, cur))
            cur, size, start = [], 0, i
            add = text_len(line)
        cur.append(line)
        size += add
    if cur:
        spans.append((start, len(lines), cur))
    return [_Block(_cut(name(s, e, k > 0), FIELD_NAME_MAX), "\n".join(c))
            for k, (s, e, c) in enumerate(spans)]


def _pages(blocks: Sequence[_Block], *, title: str, description: str, colour: discord.Colour,
           footer: Callable[[int, int], str], timestamp: datetime | None = None,
           budget: int = PAGE_BUDGET) -> list[discord.Embed]:
    """Pack blocks into pages of at most `budget` characters and 25 fields each."""
    title = _cut(title, TITLE_MAX)
    description = _cut(description, DESCRIPTION_MAX)
    head = text_len(title) + text_len(description) + _FOOTER_RESERVE
    groups: list[list[_Block]] = [[]]
    size = head
    for b in blocks:
        bs = text_len(b.name) + text_len(b.value)
        if groups[-1] and (size + bs > budget or len(groups[-1]) >= FIELDS_MAX):
            groups.append([])
            size = head
        groups[-1].append(b)
        size += bs
    pages: list[discord.Embed] = []
    for i, group in enumerate(groups, 1):
        e = discord.Embed(title=title, description=description or None, colour=colour,
                          timestamp=timestamp)
        for b in group:
            e.add_field(name=b.name, value=b.value, inline=False)
        e.set_footer(text=_cut(footer(i, len(groups)), _FOOTER_RESERVE))
        pages.append(e)
    return pages


# --- /queue ------------------------------------------------------------------------------

def _matches_account(job: Job, account: str) -> bool:
    if job.account is None:
        return False
    wanted = account.casefold()
    return job.account.casefold() == wanted or redact_email(job.account).casefold() == wanted


def queue_pages(snapshots: Sequence[Snapshot], *, now: datetime, stuck_after: timedelta,
                redact: bool, titles: Mapping[str, str], account: str | None = None,
                fetched_at: datetime | None = None) -> list[discord.Embed]:
    """What is running, grouped by provider and account, longest-running first, paginated.

    Each line: kind, short id, start (relative timestamp), elapsed, ⚠ when stuck. Always at
    least one page ("Nothing running" when empty)."""
    age = _data_age(snapshots, now, fetched_at)
    stuck_s = stuck_after.total_seconds()
    who = f" · {_u(display_account(account, redact), False, 80)}" if account else ""

    summary: list[str] = []
    blocks: list[_Block] = []
    total = stuck_total = 0
    for snap in snapshots:
        ptitle = _title_of(snap.provider, titles)
        jobs = [j for j in snap.jobs if account is None or _matches_account(j, account)]
        timed = [(_job_elapsed(j, snap.taken_at, now), j) for j in jobs]
        stuck = sum(1 for e, _ in timed if e is not None and e > stuck_s)
        total += len(jobs)
        stuck_total += stuck
        if not jobs:
            summary.append(f"**{ptitle}** — nothing running")
            continue
        summary.append(f"**{ptitle}** — {len(jobs)} running"
                       + (f" · ⚠ {stuck} stuck" if stuck else ""))

        by_account: dict[str | None, list[tuple[float | None, Job]]] = {}
        for e, j in timed:
            by_account.setdefault(j.account, []).append((e, j))

        def longest(item: tuple[str | None, list[tuple[float | None, Job]]]) -> float:
            return max((e for e, _ in item[1] if e is not None), default=-1.0)

        for acct, items in sorted(by_account.items(), key=longest, reverse=True):
            items.sort(key=lambda t: (t[0] is None, -(t[0] or 0.0), t[1].id))
            lines = []
            for e, j in items:
                started = _job_start(j, snap.taken_at)
                start = f"started {format_dt(started, 'R')}" if started else "start unknown"
                mark = " · ⚠ stuck" if e is not None and e > stuck_s else ""
                ident = escape(short_id(display_id(j.id, redact)))
                lines.append(f"{_kind_mark(j.kind)} {ident} · {start} · {fmt_duration(e)}{mark}")
            label = (_u(display_account(acct, redact), False, 80) if acct
                     else "account unknown")
            count = len(items)

            def name(first: int, end: int, cont: bool, *, label: str = label,
                     ptitle: str = ptitle, count: int = count) -> str:
                where = f" · {first + 1}–{end} of {count}" if cont or end < count else ""
                return f"{ptitle} · {label} ({_plural(count, 'job')}){where}"

            blocks.extend(_chunk_lines(lines, name))

    description = _join_bounded(summary, 1200, lambda n: f"… and {n} more providers")
    if not total:
        return _pages([], title=f"Nothing running{who}", description=description, colour=OK,
                      footer=lambda i, n: f"Data from {age} ago")
    title = f"Queue{who} — {total} running" + (f", {stuck_total} stuck" if stuck_total else "")
    return _pages(blocks, title=title, description=description,
                  colour=WARN if stuck_total else NEUTRAL,
                  footer=lambda i, n: f"Data from {age} ago · page {i}/{n} · longest-running first")


# --- /capacity ---------------------------------------------------------------------------

def _exhausted(a: Account) -> bool:
    return (a.max_jobs is not None and a.executing >= a.max_jobs) or a.available == 0


def _fullness(a: Account) -> float:
    if a.max_jobs is None:
        return -1.0
    if a.max_jobs <= 0:
        return float("inf")
    return a.executing / a.max_jobs


@dataclass(frozen=True, slots=True)
class _Totals:
    used: int
    capacity: int | None  # sum of the known max_jobs; None when no account says
    unknown: int  # accounts whose max_jobs is unknown
    exhausted: tuple[Account, ...]

    @property
    def ratio(self) -> float | None:
        if not self.capacity:
            return None
        return self.used / self.capacity

    def text(self) -> str:
        cap = "?" if self.capacity is None else str(self.capacity)
        more = "+?" if self.unknown and self.capacity is not None else ""
        pct = f" · {round(self.ratio * 100)}%" if self.ratio is not None else ""
        return f"{bar(self.used, self.capacity)} {self.used}/{cap}{more}{pct}"


def _totals(accounts: Sequence[Account]) -> _Totals:
    known = [a.max_jobs for a in accounts if a.max_jobs is not None]
    return _Totals(used=sum(a.executing for a in accounts),
                   capacity=sum(known) if known else None,
                   unknown=len(accounts) - len(known),
                   exhausted=tuple(a for a in accounts if _exhausted(a)))


def _fullness_colour(totals: Iterable[_Totals]) -> discord.Colour:
    colours = []
    for t in totals:
        if t.ratio is None:
            continue
        colours.append(BAD if t.ratio >= 1 else WARN if t.ratio >= 0.7 else OK)
    return _worst(colours) if colours else NEUTRAL


def _exhausted_list(accounts: Sequence[Account], redact: bool, shown: int = 5) -> str:
    names = [_u(display_account(a.account, redact), False, 60) for a in accounts[:shown]]
    more = f" and {len(accounts) - shown} more" if len(accounts) > shown else ""
    return ", ".join(names) + more


def capacity_pages(snapshots: Sequence[Snapshot], *, now: datetime, redact: bool,
                   titles: Mapping[str, str]) -> list[discord.Embed]:
    """Per account `executing/maxJobs` with a bar (fullest first), totals per provider and the
    exhausted accounts called out; colour by how full the fullest provider is."""
    age = _data_age(snapshots, now, None)
    summary: list[str] = []
    blocks: list[_Block] = []
    all_totals: list[_Totals] = []
    for snap in snapshots:
        ptitle = _title_of(snap.provider, titles)
        t = _totals(snap.accounts)
        all_totals.append(t)
        if not snap.accounts:
            summary.append(f"**{ptitle}** — no accounts reported")
            continue
        line = f"**{ptitle}** {t.text()} · {_plural(len(snap.accounts), 'account')}"
        if t.exhausted:
            line += f"\nExhausted: {_exhausted_list(t.exhausted, redact)}"
        summary.append(line)

        accounts = sorted(snap.accounts, key=lambda a: (-_fullness(a), -a.executing, a.account))
        lines = []
        for a in accounts:
            cap = "?" if a.max_jobs is None else str(a.max_jobs)
            full = " · **exhausted**" if _exhausted(a) else ""
            name_txt = _u(display_account(a.account, redact), False, 80)
            lines.append(f"{bar(a.executing, a.max_jobs)} {a.executing}/{cap} {name_txt}{full}")
        count = len(accounts)

        def name(first: int, end: int, cont: bool, *, ptitle: str = ptitle,
                 count: int = count) -> str:
            where = f" · {first + 1}–{end} of {count}" if cont or end < count else ""
            return f"{ptitle} accounts{where}"

        blocks.extend(_chunk_lines(lines, name))

    description = _join_bounded(summary, 1500, lambda n: f"… and {n} more providers")
    used = sum(t.used for t in all_totals)
    caps = [t.capacity for t in all_totals if t.capacity is not None]
    cap_txt = str(sum(caps)) if caps else "?"
    return _pages(blocks, title=f"Capacity — {used}/{cap_txt} in use",
                  description=description or "No provider data.",
                  colour=_fullness_colour(all_totals),
                  footer=lambda i, n: f"Data from {age} ago · page {i}/{n} · fullest first")


# --- /job --------------------------------------------------------------------------------

_OUTCOME_COLOUR = {
    Outcome.RUNNING: NEUTRAL,
    Outcome.COMPLETED: OK,
    Outcome.FAILED: BAD,
    Outcome.MODERATED: WARN,
    Outcome.CANCELLED: WARN,
    Outcome.UNKNOWN: WARN,
}

_URL_MENTION = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_URL_SAFE = "/:?#@!$&'*+,;=%-._~"


def _link_target(url: str) -> str | None:
    """A URL fit for a markdown link target, or None (not http(s), or too long)."""
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        return None
    url = "".join(ch for ch in url if ch.isprintable())
    url = urllib.parse.quote(url, safe=_URL_SAFE)
    # Parentheses and angle brackets would end the markdown link early.
    url = url.replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")
    url = _URL_MENTION.sub("%40", url)  # no "@everyone"/"@here" text even in a link target
    return url if len(url) <= 512 else None


def _link_label(url: str, i: int) -> str:
    path = urllib.parse.urlsplit(url).path
    tail = urllib.parse.unquote(path.rstrip("/").rsplit("/", 1)[-1])
    return tail or f"result {i}"


def _links(urls: Sequence[str], redact: bool, limit: int = FIELD_VALUE_MAX) -> str | None:
    """Markdown links (escaped labels, only http(s) targets) fitting in `limit` characters."""
    if not urls:
        return None
    links: list[str] = []
    skipped = 0
    for i, raw in enumerate(urls, 1):
        target = _link_target(redact_email(raw) if redact else raw)
        if target is None:
            skipped += 1
            continue
        links.append(f"[{_u(_link_label(target, i), redact, 40)}]({target})")
    lines = _join_bounded(links, limit - 40, lambda n: f"and {n} more")
    if skipped:
        note = f"{_plural(skipped, 'link')} not shown (not http/https or too long)"
        lines = f"{lines}\n{note}" if lines else note
    return lines or None


def _when(dt: datetime) -> str:
    return f"{format_dt(dt, 'f')} ({format_dt(dt, 'R')})"


def job_embed(result: JobResult, *, titles: Mapping[str, str], redact: bool) -> discord.Embed:
    """One job: outcome word and colour, provider, id, account, kind, model, times, prompt,
    result links and the upstream error text."""
    ptitle = _title_of(result.provider, titles)
    word = result.outcome.value
    e = discord.Embed(title=f"{ptitle} job {word}",
                      description=f"**Id** {_u(display_id(result.id, redact), False, 1000)}",
                      colour=_OUTCOME_COLOUR.get(result.outcome, NEUTRAL),
                      timestamp=result.updated or result.created)
    outcome = word
    if result.raw_status:
        outcome += f" (upstream: {_u(result.raw_status, redact, 60)})"
    e.add_field(name="Outcome", value=outcome, inline=True)
    e.add_field(name="Provider", value=ptitle, inline=True)
    e.add_field(name="Account",
                value=_u(display_account(result.account, redact), False, 200), inline=True)
    e.add_field(name="Kind", value=result.kind or "—", inline=True)
    e.add_field(name="Model", value=_u(result.model, redact, 200) if result.model else "—",
                inline=True)
    if result.created:
        e.add_field(name="Created", value=_when(result.created), inline=True)
    if result.updated:
        e.add_field(name="Updated", value=_when(result.updated), inline=True)
    if result.prompt:
        e.add_field(name="Prompt", value=_cut(_u(result.prompt, redact, 900), FIELD_VALUE_MAX),
                    inline=False)
    links = _links(result.urls, redact)
    if links:
        e.add_field(name=f"Results ({len(result.urls)})", value=links, inline=False)
    if result.error:
        e.add_field(name="Upstream error",
                    value=_cut(_u(result.error, redact, 900), FIELD_VALUE_MAX), inline=False)
    for k, v in list(result.extra.items())[:5]:
        if k and v:
            e.add_field(name=_u(k, redact, 60), value=_u(v, redact, 200), inline=True)
    e.set_footer(text="opsbot · /job")
    return e


# --- /status -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ProviderStatus:
    """How one provider looks to the watcher (what `/status` and the board show)."""

    provider: str
    running: int | None
    used: int | None
    capacity: int | None
    last_ok: datetime | None
    last_error: str | None
    watcher_ok: bool | None = None

    @property
    def healthy(self) -> bool:
        return self.last_ok is not None and not self.last_error and self.watcher_ok is not False


def _status_colour(s: ProviderStatus) -> discord.Colour:
    if s.watcher_ok is False or s.last_ok is None:
        return BAD
    return WARN if s.last_error else OK


def _status_lines(s: ProviderStatus, err_len: int, redact: bool) -> list[str]:
    running = "?" if s.running is None else str(s.running)
    if s.capacity is not None and s.used is not None:
        pct = f" · {round(s.used / s.capacity * 100)}%" if s.capacity else ""
        cap = f"{bar(s.used, s.capacity)} {s.used}/{s.capacity}{pct}"
    elif s.used is not None:
        cap = f"{s.used}/?"
    else:
        cap = "?"
    lines = [f"Running: {running}", f"Capacity: {cap}",
             "Last good poll: " + (format_dt(s.last_ok, "R") if s.last_ok else "never")]
    if s.watcher_ok is not None:
        lines.append("Watcher: " + ("running" if s.watcher_ok else "**stopped**"))
    if s.last_error:
        lines.append(f"Last error: {_u(s.last_error, redact, err_len)}")
    return lines


def status_embed(entries: Sequence[ProviderStatus], *, now: datetime,
                 titles: Mapping[str, str], redact: bool = False) -> discord.Embed:
    """One embed, every provider: running, capacity used, last good poll, last error
    (e-mails in the error text masked when `redact`)."""
    healthy = sum(1 for s in entries if s.healthy)
    if not entries:
        headline = "No providers enabled."
    elif healthy == len(entries):
        headline = "All providers answering."
    else:
        headline = f"{healthy} of {_plural(len(entries), 'provider')} healthy."
    err_len = max(40, min(300, 4500 // max(len(entries), 1) - 150))
    e = discord.Embed(title="opsbot status", description=headline,
                      colour=_worst(_status_colour(s) for s in entries) if entries else NEUTRAL,
                      timestamp=now)
    e.set_footer(text=f"Checked {now:%H:%M:%S} UTC")
    fields = []
    for s in entries:
        icon = {OK.value: "✅", WARN.value: "⚠️", BAD.value: "❌"}[_status_colour(s).value]
        fields.append((f"{icon} {_title_of(s.provider, titles)}",
                       "\n".join(_status_lines(s, err_len, redact))))

    def more(n: int) -> tuple[str, str]:
        rest = entries[len(entries) - n:]
        return (f"… and {_plural(n, 'more provider')}",
                f"{sum(1 for s in rest if s.healthy)} of {n} healthy")

    _add_fields_bounded(e, fields, more)
    return e


# --- errors ------------------------------------------------------------------------------

def _error_words(exc: errors.UpstreamError) -> tuple[str, str, discord.Colour]:
    """(headline, hint, colour) for an upstream error, most specific type first."""
    if isinstance(exc, errors.Unauthorized):
        return ("useapi rejected the token (401)",
                "Check `USEAPI_TOKEN`; the token may be wrong or revoked.", BAD)
    if isinstance(exc, errors.PaymentRequired):
        return ("useapi says payment required (402) — subscription expired or out of credits",
                "Renew the useapi.net subscription or add credits.", BAD)
    if isinstance(exc, errors.RateLimited):
        return ("useapi is rate limiting (429) — too many requests right now",
                "opsbot backs off and retries; try again in a minute.", WARN)
    if isinstance(exc, errors.ServerError):
        code = f" — upstream answered {exc.status}" if exc.status else ""
        return (f"useapi/provider error (5xx){code}",
                "Usually temporary; opsbot keeps trying.", BAD)
    if isinstance(exc, errors.DeadlineExceeded):
        return ("useapi did not finish its answer in time (cut off)",
                "It sent too slowly; usually temporary, opsbot tries again next poll.", WARN)
    if isinstance(exc, errors.UpstreamTimeout):
        return ("useapi did not answer in time", "Usually temporary; try again shortly.", WARN)
    if isinstance(exc, errors.TransportError):
        return ("cannot reach useapi", "Check network/DNS and `USEAPI_BASE_URL`.", BAD)
    if isinstance(exc, errors.Redirected):
        return (f"useapi redirected elsewhere ({exc.status}, not followed)",
                "Check `USEAPI_BASE_URL`: it may be an old or wrong address.", BAD)
    if isinstance(exc, errors.BodyTooLarge):
        return ("useapi sent an answer too large to read",
                "opsbot stops reading past its size cap; please report it.", BAD)
    if isinstance(exc, errors.PayloadError):
        what = escape(truncate(exc.field, 80)) if exc.field else "the response body"
        return (f"useapi sent something opsbot cannot read: {what}",
                "The upstream format may have changed; please report it.", BAD)
    if isinstance(exc, errors.NotFound):
        return ("useapi has no such thing (404)", "Check the id and the provider.", WARN)
    if isinstance(exc, errors.Gone):
        return ("that is gone upstream (410)", "The job or account no longer exists.", WARN)
    if isinstance(exc, errors.BadRequest):
        return ("useapi rejected the request (400)", "Check the id and the options.", WARN)
    if isinstance(exc, errors.InsufficientCredits):
        return ("useapi says insufficient credits (412)", "Top up the provider account.", BAD)
    if isinstance(exc, errors.ModeratedPrompt):
        return ("the provider moderated this (422)", "The prompt or media was refused.", WARN)
    if isinstance(exc, errors.SessionExpired):
        return ("the provider session of this account expired (596)",
                "Re-add the account's session/cookies at useapi.net.", BAD)
    if isinstance(exc, errors.HTTPStatusError):
        code = f" ({exc.status})" if exc.status is not None else ""
        return (f"useapi answered with an error{code}", "See the upstream message below.", BAD)
    return ("useapi did not give usable data", "See the upstream message below.", BAD)


def error_embed(exc: errors.UpstreamError, *, titles: Mapping[str, str] | None = None,
                redact: bool = False) -> discord.Embed:
    """Say in plain words what went wrong upstream, naming the provider when known."""
    headline, hint, colour = _error_words(exc)
    title = headline
    if exc.provider:
        title = f"{_title_of(exc.provider, titles or {})}: {headline}"
    lines = [hint]
    if exc.message:
        lines.append(f"**Upstream said:** {_u(exc.message, redact, 1500)}")
    if exc.path:
        # Decoded, so that an e-mail inside a percent-encoded id is masked like any other.
        lines.append(f"**Request:** {_u(urllib.parse.unquote(exc.path), redact, 300)}")
    return discord.Embed(title=_cut(title, TITLE_MAX), description="\n".join(lines),
                         colour=colour)


def input_error_embed(message: str) -> discord.Embed:
    """A problem with what the user typed (bad id, unknown provider …). `message` is plain
    text; it is escaped here."""
    return discord.Embed(title="Cannot do that", description=_u(message, False, 2000),
                         colour=WARN)


# --- alerts ------------------------------------------------------------------------------

def _word_colour(word: str) -> discord.Colour:
    return _WORD_COLOUR.get(word.lower(), NEUTRAL)


def _alert_target(event: Event, redact: bool) -> str:
    if event.account:
        return _u(display_account(event.account, redact), False, 100)
    return "all accounts"


def alert_title(event: Event, *, titles: Mapping[str, str], redact: bool) -> str:
    """``PixVerse job completed``, ``MiniMax capacity exhausted · 412345``,
    ``Dreamina upstream unauthorized`` — the outcome word always appears literally."""
    ptitle = _title_of(event.provider, titles)
    word = escape(truncate(event.word, 40))
    if event.kind is EventKind.CAPACITY:
        return _cut(f"{ptitle} capacity {word} · {_alert_target(event, redact)}", TITLE_MAX)
    noun = "job" if event.kind is EventKind.JOB else "upstream"
    return f"{ptitle} {noun} {word}"


def alert_embed(event: Event, *, titles: Mapping[str, str], redact: bool) -> discord.Embed:
    """One alert: provider, job id / account, one outcome word in the title, colour by word,
    detail, result links, `event.at` as the timestamp."""
    lines: list[str] = []
    if event.job_id:
        lines.append(f"**Job** {_u(display_id(event.job_id, redact), False, 600)}")
    if event.account:
        lines.append(f"**Account** {_alert_target(event, redact)}")
    elif event.kind is EventKind.CAPACITY:
        lines.append("**Account** all accounts")
    if event.detail:
        lines.append(_u(event.detail, redact, 1500))
    for k, v in list(event.extra.items())[:4]:
        if k and v:
            lines.append(f"**{_u(k, redact, 40)}** {_u(v, redact, 100)}")
    links = _links(event.urls, redact, limit=1000)
    if links:
        lines.append(links)
    lines.append(f"**When** {_when(event.at)}")
    e = discord.Embed(title=alert_title(event, titles=titles, redact=redact),
                      description=_cut("\n".join(lines), DESCRIPTION_MAX),
                      colour=_word_colour(event.word), timestamp=event.at)
    e.set_footer(text=f"{event.kind.value} alert")
    return e


def _ordered_words(counts: Mapping[str, int]) -> list[str]:
    known = [w for w in _WORD_ORDER if w in counts]
    return known + [w for w in counts if w not in _WORD_ORDER]


@dataclass
class _Section:
    provider: str
    kind: EventKind
    events: list[Event]

    def counts(self) -> Counter[str]:
        return Counter(e.word for e in self.events)


def _section_headline(sec: _Section, titles: Mapping[str, str]) -> str:
    ptitle = _title_of(sec.provider, titles)
    counts = sec.counts()
    words = _ordered_words(counts)
    if sec.kind is EventKind.JOB:
        first, *rest = words
        parts = [f"{_plural(counts[first], 'job')} {escape(first)} on {ptitle}"]
        parts += [f"{counts[w]} {escape(w)}" for w in rest]
    elif sec.kind is EventKind.CAPACITY:
        first, *rest = words
        parts = [f"{_plural(counts[first], 'account')} {escape(first)} on {ptitle}"]
        parts += [f"{counts[w]} {escape(w)}" for w in rest]
    else:
        parts = [f"{ptitle} upstream " + ", ".join(f"{escape(w)} ×{counts[w]}" for w in words)]
    return ", ".join(parts)


def _event_item(event: Event, redact: bool) -> str:
    if event.kind is EventKind.JOB and event.job_id:
        return _u(display_id(event.job_id, redact), False, 80)
    if event.kind is EventKind.CAPACITY:
        return _alert_target(event, redact)
    return format_dt(event.at, "T")


def _section_lines(sec: _Section, redact: bool, budget: int, max_items: int = 5) -> str:
    """One line per word: its count, then as many items as fit, then "and N more"."""
    counts = sec.counts()
    words = _ordered_words(counts)
    per_word = max(budget // max(len(words), 1), 0)
    lines = []
    for w in words:
        head = f"**{escape(w)}** ({counts[w]})"
        items: list[str] = []
        size = text_len(head) + 2
        seen = 0
        for ev in sec.events:
            if ev.word != w:
                continue
            item = _event_item(ev, redact)
            tail = text_len(f" and {counts[w]} more")
            if len(items) >= max_items or size + text_len(item) + 2 + tail > per_word:
                break
            items.append(item)
            size += text_len(item) + 2
            seen += 1
        line = head
        if items:
            line += ": " + ", ".join(items)
        if seen < counts[w] and items:
            line += f" and {counts[w] - seen} more"
        lines.append(line)
    return "\n".join(lines)


def _sections(events: Sequence[Event]) -> list[_Section]:
    by_key: dict[tuple[str, EventKind], _Section] = {}
    for ev in events:
        key = (ev.provider, ev.kind)
        if key not in by_key:
            by_key[key] = _Section(ev.provider, ev.kind, [])
        by_key[key].events.append(ev)
    return list(by_key.values())


def _section_colour(sec: _Section) -> discord.Colour:
    return _worst(_word_colour(w) for w in sec.counts())


def alert_batch(events: Sequence[Event], *, titles: Mapping[str, str], redact: bool,
                max_embeds: int = MESSAGE_EMBEDS_MAX) -> list[discord.Embed]:
    """Embeds for ONE message. One embed per event when they fit (≤ `max_embeds`, ≤ 6000
    characters together); otherwise a summary per provider and kind that still counts every
    event by its word, listing a bounded number of ids."""
    if not events:
        return []
    max_embeds = max(1, min(max_embeds, MESSAGE_EMBEDS_MAX))
    if len(events) <= max_embeds:
        singles = [alert_embed(ev, titles=titles, redact=redact) for ev in events]
        if sum(embed_size(e) for e in singles) <= MESSAGE_TOTAL_MAX:
            return singles

    sections = _sections(events)
    footer = f"{_plural(len(events), 'alert')} at once — summarised"
    if len(sections) <= max_embeds:
        return _summary_embeds(sections, titles, redact, footer)
    return _summary_fields(sections, titles, redact, footer, max_embeds)


def _summary_embeds(sections: Sequence[_Section], titles: Mapping[str, str], redact: bool,
                    footer: str) -> list[discord.Embed]:
    heads = [_cut(_section_headline(s, titles), TITLE_MAX) for s in sections]
    fixed = sum(text_len(h) for h in heads) + len(sections) * text_len(footer)
    budget = min(DESCRIPTION_MAX, max((_MESSAGE_BUDGET - fixed) // len(sections), 0))
    out = []
    for sec, head in zip(sections, heads, strict=True):
        e = discord.Embed(title=head,
                          description=_cut(_section_lines(sec, redact, budget), DESCRIPTION_MAX),
                          colour=_section_colour(sec),
                          timestamp=max(ev.at for ev in sec.events))
        e.set_footer(text=footer)
        out.append(e)
    return out


def _summary_fields(sections: Sequence[_Section], titles: Mapping[str, str], redact: bool,
                    footer: str, max_embeds: int) -> list[discord.Embed]:
    """Many provider/kind groups: one field each, packed into at most `max_embeds` embeds;
    groups beyond what fits are folded into one last field of counts by word."""
    title = "Alert summary"
    fixed = max_embeds * (text_len(title) + text_len(footer))
    room = max((_MESSAGE_BUDGET - fixed - 600) // 200, 1)  # ≥ ~200 chars per shown group
    slots = min(max_embeds * FIELDS_MAX - 1, room)
    shown, rest = list(sections[:slots]), list(sections[slots:])
    per_field = min(FIELD_VALUE_MAX, (_MESSAGE_BUDGET - fixed - 600) // max(len(shown), 1))

    blocks: list[_Block] = []
    for sec in shown:
        name = _cut(_section_headline(sec, titles), min(FIELD_NAME_MAX, per_field // 2))
        value = _section_lines(sec, redact, per_field - text_len(name))
        blocks.append(_Block(name, _cut(value, min(FIELD_VALUE_MAX, per_field))))
    if rest:
        counts: Counter[str] = Counter()
        for sec in rest:
            counts.update(sec.counts())
        providers = len({s.provider for s in rest})
        value = ", ".join(f"{counts[w]} {escape(w)}" for w in _ordered_words(counts))
        blocks.append(_Block(f"… and {_plural(len(rest), 'more group')} on "
                             f"{_plural(providers, 'provider')}", _cut(value, 500)))

    per_embed = -(-len(blocks) // max_embeds)
    per_embed = min(per_embed, FIELDS_MAX)
    out = []
    colour = _worst(_section_colour(s) for s in sections)
    last = max(ev.at for s in sections for ev in s.events)
    for i in range(0, len(blocks), per_embed):
        e = discord.Embed(title=title, colour=colour, timestamp=last)
        for b in blocks[i: i + per_embed]:
            e.add_field(name=b.name, value=b.value, inline=False)
        e.set_footer(text=footer)
        out.append(e)
    return out


# --- /board ------------------------------------------------------------------------------

def board_embed(snapshots: Sequence[Snapshot], *, now: datetime, titles: Mapping[str, str],
                redact: bool, statuses: Sequence[ProviderStatus] = ()) -> discord.Embed:
    """The live board: per provider queue counts, capacity and health; edited at most once a
    minute, and only when something changed."""
    by_provider = {s.provider: s for s in snapshots}
    status_by = {s.provider: s for s in statuses}
    providers = list(dict.fromkeys([*by_provider, *status_by]))
    colours: list[discord.Colour] = []
    e = discord.Embed(title="opsbot board",
                      description=f"Updated {format_dt(now, 'T')} ({format_dt(now, 'R')})",
                      timestamp=now)
    running_total = 0
    fields: list[tuple[str, str]] = []
    for p in providers:
        snap, st = by_provider.get(p), status_by.get(p)
        lines: list[str] = []
        if snap is not None:
            kinds = Counter(j.kind for j in snap.jobs)
            running_total += len(snap.jobs)
            mix = " · ".join(f"{_kind_mark(k)} {n}" for k, n in kinds.most_common())
            lines.append(f"Queue: {len(snap.jobs)} running" + (f" ({mix})" if snap.jobs else ""))
            elapsed = [x for j in snap.jobs
                       if (x := _job_elapsed(j, snap.taken_at, now)) is not None]
            if elapsed:
                lines.append(f"Longest: {fmt_duration(max(elapsed))}")
            t = _totals(snap.accounts)
            if snap.accounts:
                lines.append(f"Capacity: {t.text()}")
                colours.append(_fullness_colour([t]))
            if t.exhausted:
                lines.append(f"Exhausted ({len(t.exhausted)}): "
                             f"{_exhausted_list(t.exhausted, redact, shown=3)}")
            lines.append(f"Data from {format_dt(snap.taken_at, 'R')}")
        else:
            lines.append("Queue: no data yet")
        if st is not None:
            colours.append(_status_colour(st))
            if st.last_error:
                lines.append(f"⚠ {_u(st.last_error, redact, 200)}")
            if st.watcher_ok is False:
                lines.append("Watcher: **stopped**")
        fields.append((_title_of(p, titles), "\n".join(lines)))
    if not providers:
        e.description = (e.description or "") + "\nNo provider data yet."
    e.colour = _worst(colours) if colours else NEUTRAL
    e.set_footer(text=f"{running_total} running · updated when it changes, at most once a "
                      f"minute")
    _add_fields_bounded(e, fields, lambda n: (f"… and {_plural(n, 'more provider')}",
                                              "Use `/queue` and `/capacity` for the rest."))
    return e
