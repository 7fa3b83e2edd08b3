"""Jobs from a flat scheduler array, through a fast path and the fully checked one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.errors import PayloadError
from bot.models import Job, Kind, bound_reply_ref, make_job
from bot.providers.parse import memos
from bot.providers.parse.elapsed import elapsed_since, parse_elapsed
from bot.providers.parse.getters import expect_dict, expect_list, opt_str, require_id
from bot.providers.parse.ids import account_from_id, as_kind, kind_from_id
from bot.providers.parse.memos import _elapsed, _started, _text_kind, id_info
from bot.providers.parse.times import parse_time

# The memo dicts, bound by assignment rather than `from … import`: CPython 3.11 compiles a
# method call on an imported name as an attribute load (a bound method made per call), on an
# assigned one as LOAD_METHOD. The fast path calls their `get` for every item of every tick.
# (They are never rebound, so these stay the live dicts.)
_ID_INFO = memos._ID_INFO
_STARTED = memos._STARTED
_ELAPSED = memos._ELAPSED


def flat_queue(
    body: object, provider: str, field: str, id_keys: Mapping[str, Kind | None], now: datetime
) -> tuple[Job, ...]:
    """Jobs from a flat scheduler array: `[{<id key>, type?, started?, elapsed?, replyRef?, …}]`.

    `id_keys` maps each accepted id key to the kind it implies (`imageId` → image); the first
    key present wins. Kind: an explicit `type`, else the id (`…-image:N`), else the key's kind.
    Account: the id, else an `email`/`account` field. `elapsed_seconds` is the upstream
    `elapsed` figure, else computed from `started`. An id that repeats gives one job, the
    first (`unique_jobs`).

    Each item takes `_flat_fast` (text and nulls where text belongs, as every scheduler
    sends), and `_flat_job` (every field checked, numbers coerced, `PayloadError` naming the
    field) when the fast path declines it: the two give the same job.
    """
    keys = tuple(id_keys)
    jobs: list[Job] = []
    for i, item in enumerate(expect_list(body, provider, field)):
        job = _flat_fast(item, provider, keys, id_keys, now) if item.__class__ is dict else None
        jobs.append(job if job is not None else _flat_job(item, i, provider, field, id_keys, now))
    return unique_jobs(jobs)


def unique_jobs(jobs: list[Job]) -> tuple[Job, ...]:
    """`jobs` with each id once: the first job of an id stays where it stood, its repeats go
    (a scheduler that lists a job three times runs it once, and counts it once)."""
    if len({j.id for j in jobs}) == len(jobs):  # the usual case: one cheap pass
        return tuple(jobs)
    first: dict[str, Job] = {}
    for job in jobs:
        first.setdefault(job.id, job)
    return tuple(first.values())


def _flat_fast(
    item: dict[str, Any],
    provider: str,
    keys: tuple[str, ...],
    id_keys: Mapping[str, Kind | None],
    now: datetime,
) -> Job | None:
    """`_flat_job` for an item whose id, type, email, account and model are text or null;
    None (never an error) for anything else. (The memos are read inline: 10,000s of items.)"""
    get = item.get
    for key in keys:
        job_id = get(key)
        if job_id is not None:
            break
    else:
        return None
    if job_id.__class__ is not str or not job_id or job_id.isspace():
        return None
    id_kind, account = _ID_INFO.get(job_id) or id_info(job_id)
    kind = get("type")
    if kind is not None:
        if kind.__class__ is not str:
            return None
        kind = _text_kind(kind)
    if account is None:
        for name in ("email", "account"):
            value = get(name)
            if value is not None:
                if value.__class__ is not str:
                    return None
                if value:
                    account = value
                    break
    model = get("model")
    if model is not None:
        if model.__class__ is not str:
            return None
        model = model or None
    started = get("started")
    if started.__class__ is str:
        started = _STARTED.get(started) or _started(started)
    else:
        started = parse_time(started)
    elapsed = get("elapsed")
    if elapsed.__class__ is str:
        seconds = _ELAPSED.get(elapsed, -1)
        elapsed = _elapsed(elapsed) if seconds == -1 else seconds
    else:
        elapsed = parse_elapsed(elapsed)
    if elapsed is None:
        elapsed = elapsed_since(started, now)
    ref = get("replyRef")
    return make_job(
        provider,
        job_id,
        kind or id_kind or id_keys[key],
        account,
        started,
        elapsed,
        model,
        False,
        None if ref is None else bound_reply_ref(ref),
    )


def _flat_job(
    raw: object,
    i: int,
    provider: str,
    field: str,
    id_keys: Mapping[str, Kind | None],
    now: datetime,
) -> Job:
    """One item of a flat scheduler array, every field checked (see `flat_queue`)."""
    where = f"{field}[{i}]"
    item = expect_dict(raw, provider, where)
    key = next((k for k in id_keys if item.get(k) is not None), None)
    if key is None:
        raise PayloadError(
            f"job has no id (none of {', '.join(id_keys)})", provider=provider, field=where
        )
    job_id = require_id(item[key], provider, f"{where}.{key}")
    kind = (
        as_kind(opt_str(item.get("type"), provider, f"{where}.type"))
        or kind_from_id(job_id)
        or id_keys[key]
    )
    account = (
        account_from_id(job_id)
        or opt_str(item.get("email"), provider, f"{where}.email")
        or opt_str(item.get("account"), provider, f"{where}.account")
    )
    started = parse_time(item.get("started"))
    elapsed = parse_elapsed(item.get("elapsed"))
    return Job(
        provider=provider,
        id=job_id,
        kind=kind,
        account=account,
        started=started,
        elapsed_seconds=elapsed if elapsed is not None else elapsed_since(started, now),
        model=opt_str(item.get("model"), provider, f"{where}.model"),
        reply_ref=bound_reply_ref(item.get("replyRef")),
    )
