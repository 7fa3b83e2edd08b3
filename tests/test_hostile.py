"""Hostile upstream bodies (issue 9): whatever bytes useapi sends, each adapter gives a valid
Snapshot or JobResult, which the diff, the store and every embed builder then take, or a typed
`UpstreamError`; nothing else escapes. And a watcher ticks on after each of them.

Bodies are generated as JSON *text* from every documented item shape (the seeds in
tests/data/seeds and useapi/endpoints.md), so they can hold what no Python value writes: lone
surrogates (as `\\ud800` escapes, or raw as CESU-style UTF-8 bytes), `NaN`/`Infinity` tokens,
`1e400`, 10^400 integers, 5,000-digit numbers, nesting past the recursion limit, repeated keys
and repeated ids, and any JSON type in any field. They reach the real adapters through the real
client (`UseapiClient` over an `httpx.MockTransport`: `bot.fastjson.loads` as in production).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot import alerts, providers
from bot.embeds import (
    ProviderStatus,
    alert_batch,
    alert_embed,
    board_embed,
    capacity_pages,
    check_limits,
    error_embed,
    job_embed,
    queue_pages,
    status_embed,
)
from bot.errors import PayloadError, UpstreamError
from bot.events import Event
from bot.models import (
    EARLIEST,
    LATEST,
    MAX_COUNT,
    MAX_ELAPSED_SECONDS,
    Job,
    JobResult,
    Outcome,
    Snapshot,
)
from bot.providers import dreamina, minimax, pixverse
from bot.store import PendingJob, Store
from bot.useapi import UseapiClient
from bot.watch import ProviderWatcher, diff, job_elapsed

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
STUCK = timedelta(minutes=20)
TITLES = {"pixverse": "PixVerse", "minimax": "MiniMax", "dreamina": "Dreamina"}
NAMES = ("pixverse", "minimax", "dreamina")
#: Examples per provider: modest, so the module runs in a few seconds on CI's 2 cores, and
#: derandomized, so CI sees the same bodies each run. OPSBOT_HOSTILE_EXAMPLES=N hunts longer,
#: with random bodies (hypothesis prints the seed of a failure).
HUNT = os.environ.get("OPSBOT_HOSTILE_EXAMPLES")
EXAMPLES = int(HUNT or 60)

SURROGATE = re.compile("[\ud800-\udfff]")
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


# ================================================================================ JSON as text

@dataclass(frozen=True)
class Raw:
    """JSON text put in as it is: a token or a structure that no Python value writes."""

    text: str


@dataclass(frozen=True)
class Obj:
    """A JSON object whose keys may repeat (valid JSON; decoders keep the last)."""

    pairs: tuple[tuple[str, Any], ...]


def emit(value: Any, ascii_: bool) -> str:
    """JSON text of `value`. With `ascii_` a lone surrogate is written as a `\\ud800` escape;
    without, raw (the body's bytes then hold it CESU-style, which `json` reads)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Obj):
        return "{" + ",".join(f"{emit(k, ascii_)}:{emit(v, ascii_)}" for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return emit(Obj(tuple(value.items())), ascii_)
    if isinstance(value, list):
        return "[" + ",".join(emit(v, ascii_) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_)  # NaN and ±Infinity as their tokens


def deep(n: int) -> Raw:
    return Raw("[" * n + "]" * n)


# ================================================================================= strategies

#: What no decoder reads, wherever it stands: nesting at orjson's limit (1,024) and past both
#: decoders' (json's ~1,000), a number of more digits than Python converts (4,300).
KILLERS = [deep(1_025), deep(1_500), deep(20_000), Raw('{"a":' * 1_500 + "0" + "}" * 1_500),
           Raw("9" * 5_000)]
NUMBER_TOKENS = [Raw(t) for t in ("1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1e308",
                                  "1" + "0" * 400, "-1" + "0" * 400, "-0", "0.1e-400",
                                  "123456789012345678901234567890")]
NUMBERS = [10**400, -(10**400), 2**63, 2**64, -1, 0, 1, MAX_COUNT, MAX_COUNT + 1,
           MAX_ELAPSED_SECONDS, MAX_ELAPSED_SECONDS + 1, 1e308, -1e308, 0.5, float("nan"),
           float("inf"), float("-inf")]
TEXTS = ["\ud800", "\udfff", "a\udc00b", "\ud83d\ude00", "\ud83d", "\u202eabc\u202c",
         "\u2066x\u2069", "\u200f", "", " ", "\x00", "@everyone", "<@&1>", "**x** `y`",
         "x" * 3_000, "NaN", "1e400", "-5", "03:57", "1:02:03", "99999999999:00", "1e308 s",
         "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "2024-09-25T01:55:16.128Z",
         "2024-09-25T01:55:67.890Z", "1727229316", "https://x.io/\u202ev.mp4", "javascript:x"]

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=8) | st.sampled_from(NUMBERS) | st.sampled_from(TEXTS)
           | st.sampled_from(NUMBER_TOKENS) | st.just(deep(40)))
#: Any JSON value at all, hostile ones included, but for the killers.
hostile = st.recursive(
    scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c,
                                                                 max_size=3),
    max_leaves=6)


def weighted(usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any],
             weight: int) -> st.SearchStrategy[Any]:
    """`usual` `weight` times as often as `rare`. (`one_of` cannot weigh: it picks among
    distinct branches, so listing one twice does not make it likelier.)"""
    return st.sampled_from([True] * weight + [False]).flatmap(
        lambda pick: usual if pick else rare)


#: ... and the killers too, now and then (in a field no adapter reads, say).
anything = weighted(hostile, st.sampled_from(KILLERS), 15)


def mostly(valid: st.SearchStrategy[Any], weight: int = 3) -> st.SearchStrategy[Any]:
    """`valid` most of the time, else any hostile value (any JSON type)."""
    return weighted(valid, hostile, weight)


def shaped(strategy: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """An object, sometimes with one of its keys repeated (holding any value)."""
    def repeat(d: dict[str, Any]) -> st.SearchStrategy[Any]:
        if not d:
            return st.just(d)
        pair = st.tuples(st.sampled_from(sorted(d)), hostile)
        return weighted(st.just(d), pair.map(lambda kv: Obj((*d.items(), kv)))  # wins
                        | pair.map(lambda kv: Obj((kv, *d.items()))), 6)  # overridden
    return strategy.flatmap(repeat)


# Small pools, so ids and accounts repeat; some hold a lone surrogate or a bidi control.
IDS: dict[str, list[Any]] = {
    "pixverse": ["user:1-pixverse:a@x.io-video:1", "user:1-pixverse:a@x.io-image:2",
                 "user:1-pixverse:b@y.io-music:3", "legacy-7",
                 "user:1-pixverse:a\ud800@x.io-video:4", "user:1-pixverse:a@x.io-video:\u202e5",
                 12345],
    "minimax": ["user:1-minimax:123456-video:1", "user:1-minimax:123456-image:2",
                "user:1-minimax:654321-video:3", "user:1-minimax:1\udfff-video:4", "\u2066x", 42],
    "dreamina": ["j0223140530123456789v-u12345-US:a@x.io:dreamina",
                 "j1v-u1-CA:b@y.io:dreamina", "j2\ud800", "plain", "\u202ej3"],
}
ACCOUNTS = ["a@x.io", "b@y.io", "123456", "654321", "US:a@x.io", "CA:b@y.io", "\u202eevil",
            "\udfffodd"]
TIMES = st.sampled_from(["2026-11-28T11:55:16.128Z", "2026-11-28T11:58:67.890Z", "1764331170",
                         1764331170, 1764331170128, "2000-01-01T00:00:00.000Z",
                         "1999-12-31T23:59:59.999Z", "2099-12-31T23:59:59.999Z",
                         "2100-01-01T00:00:00.000Z", 0, None])
ELAPSED = st.sampled_from(["03:57", "00:35", "1:02:03", "525600:00", "525600:01", "1m 23s",
                           45, 31_536_000, 31_536_001, 0, None])
COUNT = st.integers(0, 12) | st.sampled_from([MAX_COUNT, MAX_COUNT + 1, -1])
URL = st.sampled_from(["https://media.x.io/v.mp4", "https://x.io/a b/\u202e.mp4", "ftp://x",
                       None])
WORD = st.sampled_from(["completed", "failed", "created", "COMPLETED", "MODERATION_FAILED",
                        "GENERATING", "CANCELLED", "moderated", "queued", None])


def job_id(name: str) -> st.SearchStrategy[Any]:
    return mostly(st.sampled_from(IDS[name]), 10)


def flat_item(name: str, id_keys: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """One item of a flat scheduler list (PixVerse, MiniMax): one of its id keys, then any
    of the others and of the documented fields."""
    def item(key: str) -> st.SearchStrategy[Any]:
        return shaped(st.fixed_dictionaries({key: job_id(name)}, optional={
            **{k: job_id(name) for k in id_keys if k != key},
            "type": mostly(st.sampled_from(["video", "image", "music", "Video", "x"]), 8),
            "started": mostly(TIMES, 2), "elapsed": mostly(ELAPSED, 2),
            # text or null, else a PayloadError: hostile less often, so items get through
            "email": mostly(st.sampled_from(ACCOUNTS), 8),
            "account": mostly(st.sampled_from(ACCOUNTS), 8),
            "model": mostly(st.sampled_from(["v4.5", ""]), 8),
            "replyUrl": hostile, "replyRef": anything}))
    return st.sampled_from(id_keys).flatmap(item)


def available_row(name_key: str) -> st.SearchStrategy[Any]:
    return shaped(st.fixed_dictionaries(
        {name_key: mostly(st.sampled_from(ACCOUNTS), 6)},
        optional={"maxJobs": mostly(COUNT, 5), "executing": mostly(COUNT, 5),
                  "available": mostly(COUNT, 5)}))


def accounts_map() -> st.SearchStrategy[Any]:
    entry = shaped(st.fixed_dictionaries({}, optional={
        "maxJobs": mostly(COUNT, 6), "account": hostile, "error": hostile,
        "jwt": anything}))
    return shaped(st.dictionaries(st.sampled_from(ACCOUNTS), mostly(entry, 6), max_size=4))


def top(body: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A documented body most of the time; now and then anything at all instead."""
    return weighted(body, hostile | st.sampled_from([*KILLERS, Raw(""), Raw("<html>"),
                                                    Raw("[1,]")]), 12)


def pixverse_bodies() -> st.SearchStrategy[dict[str, Any]]:
    items = st.lists(flat_item("pixverse", ("id", "videoId", "imageId")), max_size=5)
    return st.fixed_dictionaries({
        pixverse.QUEUE_PATH: top(items),
        pixverse.CAPACITY_PATH: top(shaped(st.fixed_dictionaries({
            "executing": hostile,  # (snapshot() reads the queue's own list)
            "available": mostly(st.lists(available_row("email"), max_size=4), 6)}))),
        "video": top(shaped(st.fixed_dictionaries({}, optional={
            "video_status": mostly(st.sampled_from([1, 5, 7, 8, 10, 3])),
            "video_status_name": mostly(WORD), "video_status_final": mostly(st.booleans()),
            "url": mostly(URL), "prompt": mostly(st.sampled_from(TEXTS)),
            "model": mostly(st.sampled_from(["v3", None])), "created_at": mostly(TIMES, 2),
            "error": mostly(st.sampled_from(TEXTS)), "errCode": mostly(st.sampled_from([0, 500]))
        }))),
        "legacy": top(shaped(st.fixed_dictionaries({}, optional={
            "status": mostly(WORD), "created": mostly(TIMES, 2), "updated": mostly(TIMES, 2),
            "prompt": mostly(st.sampled_from(TEXTS)), "verb": mostly(st.just("pixverse-create")),
            "attachments": mostly(st.lists(shaped(st.fixed_dictionaries({"url": mostly(URL)})),
                                           max_size=3)),
            "error": mostly(st.sampled_from(TEXTS)),
            "errorDetails": mostly(st.sampled_from(TEXTS))}))),
    })


def minimax_bodies() -> st.SearchStrategy[dict[str, Any]]:
    items = st.lists(flat_item("minimax", ("videoId", "imageId", "id")), max_size=5)
    return st.fixed_dictionaries({
        minimax.QUEUE_PATH: top(items),
        minimax.CAPACITY_PATH: top(shaped(st.fixed_dictionaries({
            "executing": hostile,  # (snapshot() reads the queue's own list)
            "available": mostly(st.lists(available_row("account"), max_size=4), 6)}))),
        minimax.ACCOUNTS_PATH: top(accounts_map()),
        "video": top(shaped(st.fixed_dictionaries({}, optional={
            "status": mostly(st.sampled_from([0, 1, 2, 3, 5, 7, 11, 12, 14])),
            "statusLabel": mostly(WORD), "statusFinal": mostly(st.booleans()),
            "message": mostly(st.sampled_from(TEXTS)), "videoURL": mostly(URL),
            "downloadURL": mostly(URL), "percent": mostly(st.sampled_from([0, 40, 100, 101]))
        }))),
    })


def dreamina_bodies() -> st.SearchStrategy[dict[str, Any]]:
    item = shaped(st.fixed_dictionaries({}, optional={
        "jobid": job_id("dreamina"), "jobId": job_id("dreamina"),
        "model": mostly(st.sampled_from(["seedance-2.0", ""])),
        "elapsedSeconds": mostly(ELAPSED, 2), "elapsed": mostly(ELAPSED, 2),
        "submitId": hostile, "replyUrl": anything}))
    groups = shaped(st.dictionaries(st.sampled_from(ACCOUNTS),
                                    mostly(st.lists(item, max_size=4), 5), max_size=3))
    return st.fixed_dictionaries({
        dreamina.QUEUE_PATH: top(shaped(st.fixed_dictionaries(
            {"executing": mostly(groups, 5)}, optional={"total": hostile}))),
        dreamina.ACCOUNTS_PATH: top(accounts_map()),
        "video": top(shaped(st.fixed_dictionaries({}, optional={
            "status": mostly(WORD), "error": mostly(st.sampled_from(TEXTS)),
            "errorDetails": mostly(st.sampled_from(TEXTS)),
            "request": mostly(shaped(st.fixed_dictionaries(
                {}, optional={"prompt": mostly(st.sampled_from(TEXTS))}))),
            "response": mostly(shaped(st.fixed_dictionaries(
                {}, optional={"videoUrl": mostly(URL)}))),
            "type": mostly(st.sampled_from(["video", "image"])), "created": mostly(TIMES, 2),
            "updated": mostly(TIMES, 2), "model": mostly(st.just("seedance-2.0"))}))),
    })


BODIES: dict[str, Callable[[], st.SearchStrategy[dict[str, Any]]]] = {
    "pixverse": pixverse_bodies, "minimax": minimax_bodies, "dreamina": dreamina_bodies}
#: How a job endpoint may answer besides 200 (each adapter reads some of these as outcomes).
STATUSES = st.sampled_from([200] * 6 + [404, 410, 401, 429, 500])


ERROR_BODY = st.fixed_dictionaries({"error": weighted(
    st.sampled_from(TEXTS) | st.text(max_size=20), st.none() | st.integers() | st.lists(
        st.text(max_size=3), max_size=2), 3)})


@dataclass
class Case:
    """One generated upstream: a body per endpoint (JSON text, bytes on the wire)."""

    bodies: dict[str, bytes]
    job_status: int
    job_error: bytes  # raw or escaped like the rest (where the client heals error bodies)
    probe: str  # a job id the test asks about, whatever the queue held
    missing: frozenset[str] = frozenset()  # paths that answer 404 (MiniMax's fallback)


@st.composite
def cases(draw: st.DrawFn, name: str) -> Case:
    ascii_ = draw(st.booleans())
    raw = draw(BODIES[name]())
    status = draw(STATUSES)
    return Case(bodies={k: emit(v, ascii_).encode("utf-8", "surrogatepass")
                        for k, v in raw.items()},
                job_status=status,
                job_error=emit(draw(ERROR_BODY), ascii_).encode(
                    "utf-8", "surrogatepass"),
                probe=draw(PROBES[name]),
                missing=frozenset({minimax.CAPACITY_PATH}) if name == "minimax" and draw(
                    st.sampled_from([False, False, True])) else frozenset())


#: Ids the bot may hold: what a snapshot gives (lone surrogates already U+FFFD), odd ones too.
PROBES = {name: st.sampled_from([i for i in ids if isinstance(i, str) and not SURROGATE.search(i)]
                                + ["x\ufffdy", "a/b?c#d%e f", "\x00", "\u202e"])
          for name, ids in IDS.items()}


def transport(name: str, case: Case) -> httpx.MockTransport:
    """Serve `case`: the scheduler/capacity paths as generated, every job path the generated
    job body (or the generated error status, with an error body that may echo anything)."""
    job_prefixes = {"pixverse": {"/v2/pixverse/videos/": "video", "/v1/pixverse/jobs/": "legacy"},
                    "minimax": {"/v1/minimax/videos/": "video"},
                    "dreamina": {"/v1/dreamina/videos/": "video"}}[name]

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path in case.bodies and path not in case.missing:
            return httpx.Response(200, content=case.bodies[path])
        for prefix, key in job_prefixes.items():
            if path.startswith(prefix):
                if case.job_status != 200:
                    return httpx.Response(case.job_status, content=case.job_error)
                return httpx.Response(200, content=case.bodies[key])
        return httpx.Response(404, json={"error": "no route"})

    return httpx.MockTransport(handler)


# ================================================================================ the checks

def clean(text: str | None) -> None:
    """Text every database, HTTP library and Discord takes."""
    assert text is None or (isinstance(text, str) and not SURROGATE.search(text)), repr(text)


def check_snapshot(s: Snapshot, name: str) -> None:
    assert s.provider == name
    ids = [j.id for j in s.jobs]
    assert len(set(ids)) == len(ids), "a repeated id is one job"
    for j in s.jobs:
        assert isinstance(j.id, str) and j.id.strip()
        for text in (j.id, j.account, j.model):
            clean(text)
        assert j.kind in (None, "video", "image", "music")
        assert j.elapsed_seconds is None or (type(j.elapsed_seconds) is int
                                             and 0 <= j.elapsed_seconds <= MAX_ELAPSED_SECONDS)
        assert j.started is None or (j.started.utcoffset() == timedelta(0)
                                     and EARLIEST <= j.started < LATEST)
    for a in s.accounts:
        clean(a.account)
        for n in (a.max_jobs, a.executing, a.available):
            assert n is None or (type(n) is int and 0 <= n <= MAX_COUNT)
        assert a.executing is not None


def check_result(r: JobResult, name: str, job_id: str) -> None:
    assert (r.provider, r.id) == (name, job_id)
    assert isinstance(r.outcome, Outcome)
    for text in (r.account, r.prompt, r.model, r.error, r.raw_status, *r.urls,
                 *r.extra, *r.extra.values()):
        clean(text)
    for t in (r.created, r.updated):
        assert t is None or EARLIEST <= t < LATEST


def check_embeds(embeds: list[discord.Embed], *, one_message: bool = False) -> None:
    """Within every Discord limit; no lone surrogate (the JSON discord.py sends must encode)
    and no bidi control (shown as markers) anywhere."""
    assert embeds
    if one_message:
        check_limits(embeds)
    for e in embeds:
        check_limits(e)
        text = json.dumps(e.to_dict(), ensure_ascii=False)
        text.encode("utf-8")  # raises on a lone surrogate
        assert not BIDI.search(text), text


# ============================================================================ the property

async def run_case(store: Store, name: str, case: Case, now: datetime,
                   seen: Counter[str]) -> None:
    """One tick's worth of the pipeline, as the watcher runs it, with nothing caught but
    `UpstreamError`; counts in `seen` what came out."""
    client = UseapiClient("https://api.test", SecretStr("t0ken"), attempts=1,
                          transport=transport(name, case))
    async with client:
        provider = providers.load(name)(client)
        state = await store.load_watch(name, now=now)
        try:
            snap = await provider.snapshot()
        except UpstreamError as exc:
            seen[type(exc).__name__] += 1
            await failed_tick(store, name, exc, state.states, state.config, now)
            snap = None
        # The jobs that left, a couple still running, and an id of the bot's own choosing
        # (whatever the queue held): each gives a JobResult or an UpstreamError.
        asked = {case.probe: Job(name, case.probe)}
        if snap is not None:
            seen["snapshot"] += 1
            check_snapshot(snap, name)
            d = diff(state.snapshot, snap, now=now, stuck_after=STUCK,
                     stuck_ids=state.stuck_ids)
            asked.update((j.id, j) for j in (*d.left, *snap.jobs[:2]))
        events: list[Event] = []
        pending: list[PendingJob] = []
        embeds: list[discord.Embed] = []
        for jid, job in asked.items():
            try:
                result = await provider.job(jid)
            except UpstreamError as exc:
                seen["job error"] += 1
                embeds.append(error_embed(exc, titles=TITLES))
                pending.append(PendingJob(job=job, left_at=now, last_error=str(exc)))
                continue
            seen["job result"] += 1
            check_result(result, name, jid)
            embeds += [job_embed(result, titles=TITLES, redact=redact) for redact in (False, True)]
            if result.outcome.final:
                events.append(alerts.job_event(name, job, result, result.outcome, now=now))
        check_embeds(embeds)
        if snap is None:
            return

        events += [alerts.stuck_event(name, j, job_elapsed(j, now) or 0.0, now=now)
                   for j in d.new_stuck]
        changed, evs = alerts.capacity_events(name, d.capacity, state.states, now=now,
                                              flap_ticks=1)
        events += evs
        up, evs = alerts.upstream_events(name, alerts.OK, state.states, now=now, flap_ticks=1,
                                         unreachable_after=1)
        events += evs
        items = alerts.plan(events, state.config, default_channel=1, now=now)
        await store.commit_tick(name, now=now, batch=f"{name}:{now.isoformat()}", snapshot=snap,
                                stuck_ids=d.stuck_ids, pending_add=pending,
                                states=[*changed, *up], outbox=items)
        assert await store.load_snapshot(name) == snap  # and it reads back as it was

        for redact in (False, True):
            check_embeds(queue_pages([snap], now=now, stuck_after=STUCK, redact=redact,
                                     titles=TITLES))
            check_embeds(capacity_pages([snap], now=now, redact=redact, titles=TITLES))
        status = ProviderStatus(name, len(snap.jobs), sum(a.executing for a in snap.accounts),
                                None, now, None, True)
        check_embeds([status_embed([status], now=now, titles=TITLES)])
        check_embeds([board_embed([snap], now=now, titles=TITLES, redact=False,
                                  statuses=[status])])
        if events:
            check_embeds(alert_batch(events, titles=TITLES, redact=False), one_message=True)
            check_embeds([alert_embed(e, titles=TITLES, redact=True) for e in events[:10]])


async def failed_tick(store: Store, name: str, exc: UpstreamError,
                      states: Mapping[str, alerts.AlertState], config: alerts.AlertConfig,
                      now: datetime) -> None:
    """What the watcher does with a failed snapshot: the upstream alert, stored."""
    assert exc.provider == name
    if isinstance(exc, PayloadError):
        assert str(exc).startswith(f"{name}: ")
    word = alerts.classify_error(exc)
    changed, events = alerts.upstream_events(name, word, states, now=now, flap_ticks=1,
                                             unreachable_after=1, detail=str(exc))
    await store.commit_tick(name, now=now, batch=f"{name}:{now.isoformat()}", states=changed,
                            outbox=alerts.plan(events, config, default_channel=1, now=now))
    check_embeds([error_embed(exc, titles=TITLES)])
    check_embeds([status_embed([ProviderStatus(name, None, None, None, None, str(exc), True)],
                               now=now, titles=TITLES)])
    if events:
        check_embeds(alert_batch(events, titles=TITLES, redact=False), one_message=True)


@pytest.mark.parametrize("name", NAMES)
def test_any_body_gives_a_snapshot_or_an_upstream_error(url: str, name: str) -> None:
    """Any bytes on any endpoint: a valid Snapshot and JobResults that the diff, the store
    and the embed builders take, or an UpstreamError. One store serves every example, so
    each diffs against (and decodes) what the one before it left there.

    The examples run in this test's own event loop (hypothesis drives a plain function), so
    that the counts below can tell the property was not met by failing everything early."""
    loop = asyncio.new_event_loop()
    store = loop.run_until_complete(Store.open(url))
    seen: Counter[str] = Counter()
    ticks = itertools.count(1)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=HUNT is None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=cases(name))
    def prop(case: Case) -> None:
        now = NOW + timedelta(seconds=30 * next(ticks))  # a tick later each time
        loop.run_until_complete(run_case(store, name, case, now, seen))

    try:
        prop()
    finally:
        loop.run_until_complete(store.close())
        loop.close()
    # Not vacuous: many bodies got through to the diff, store and embeds, job results too,
    # and many did not (the typed errors).
    assert seen["snapshot"] >= EXAMPLES // 4, seen
    assert seen["job result"] >= EXAMPLES // 4, seen
    assert seen["PayloadError"] >= EXAMPLES // 10, seen


# ====================================================================== a watcher ticks on

JOB_A = {"pixverse": "user:1-pixverse:a@x.io-video:1", "minimax": "user:1-minimax:123456-video:1",
         "dreamina": "j0223140530123456789v-u12345-US:a@x.io:dreamina"}
JOB_B = {"pixverse": "user:1-pixverse:a@x.io-video:2", "minimax": "user:1-minimax:123456-video:2",
         "dreamina": "j0223140530123456789v-u12345-US:a@x.io:dreamina2"}
ACCOUNT = {"pixverse": "a@x.io", "minimax": "123456", "dreamina": "US:a@x.io"}


def item_text(name: str, id_json: str, elapsed: str = '"01:00"') -> str:
    """One scheduler item as JSON text, its id and elapsed figure given as JSON text."""
    if name == "pixverse":
        return f'{{"id":{id_json},"type":"video","started":"2026-11-28T11:59:00.000Z",' \
               f'"elapsed":{elapsed}}}'
    if name == "minimax":
        return f'{{"videoId":{id_json},"started":"2026-11-28T11:59:00.000Z","elapsed":{elapsed}}}'
    return f'{{"jobid":{id_json},"model":"seedance-2.0","elapsedSeconds":{elapsed}}}'


def queue_text(name: str, items: list[str]) -> str:
    if name == "dreamina":
        return f'{{"executing":{{"US:a@x.io":[{",".join(items)}]}},"total":{len(items)}}}'
    return "[" + ",".join(items) + "]"


def capacity_text(name: str, max_jobs: str = "5", items: list[str] | None = None) -> str:
    if name == "dreamina":
        return f'{{"US:a@x.io":{{"maxJobs":{max_jobs}}}}}'
    key = "email" if name == "pixverse" else "account"
    return (f'{{"executing":[{",".join(items or [])}],'
            f'"available":[{{"{key}":"{ACCOUNT[name]}","maxJobs":{max_jobs}}}]}}')


def capacity_path(name: str) -> str:
    return dreamina.ACCOUNTS_PATH if name == "dreamina" else (
        pixverse.CAPACITY_PATH if name == "pixverse" else minimax.CAPACITY_PATH)


def queue_path(name: str) -> str:
    return {"pixverse": pixverse.QUEUE_PATH, "minimax": minimax.QUEUE_PATH,
            "dreamina": dreamina.QUEUE_PATH}[name]


def good(name: str, *ids: str) -> dict[str, bytes]:
    items = [item_text(name, json.dumps(i)) for i in ids]
    return {queue_path(name): queue_text(name, items).encode(),
            capacity_path(name): capacity_text(name, items=items).encode()}


def hostile_queue(name: str, items: list[str]) -> dict[str, bytes]:
    return {queue_path(name): queue_text(name, items).encode("utf-8", "surrogatepass")}


A_ITEM = {n: item_text(n, json.dumps(JOB_A[n])) for n in NAMES}


@dataclass(frozen=True)
class Hostile:
    """A hostile upstream for one tick: what it serves, and what the tick must make of it
    (the ids of the snapshot, or None: a PayloadError)."""

    bodies: Callable[[str], dict[str, bytes]]
    jobs: Callable[[str], list[str]] | None


HOSTILE: dict[str, Hostile] = {
    "lone surrogate id (escape)": Hostile(
        lambda n: hostile_queue(n, [A_ITEM[n], item_text(n, '"x\\ud800y"')]),
        lambda n: [JOB_A[n], "x\ufffdy"]),
    "lone surrogate id (raw bytes)": Hostile(
        lambda n: hostile_queue(n, [A_ITEM[n], item_text(n, '"\udfffz"')]),
        lambda n: [JOB_A[n], "\ufffdz"]),
    "bidi id": Hostile(lambda n: hostile_queue(n, [A_ITEM[n], item_text(n, '"\u202eq"')]),
                       lambda n: [JOB_A[n], "\u202eq"]),
    "elapsed 10^400": Hostile(
        lambda n: hostile_queue(n, [item_text(n, json.dumps(JOB_A[n]), "1" + "0" * 400)]),
        lambda n: [JOB_A[n]]),
    "elapsed 1e308": Hostile(
        lambda n: hostile_queue(n, [item_text(n, json.dumps(JOB_A[n]), "1e308")]),
        lambda n: [JOB_A[n]]),
    "elapsed 1e400, NaN, Infinity": Hostile(
        lambda n: hostile_queue(n, [item_text(n, json.dumps(JOB_A[n]), "1e400"),
                                    item_text(n, '"n"', "NaN"), item_text(n, '"i"', "Infinity")]),
        lambda n: [JOB_A[n], "n", "i"]),
    "one id three times": Hostile(lambda n: hostile_queue(n, [A_ITEM[n]] * 3),
                                  lambda n: [JOB_A[n]]),
    "counts 10^400": Hostile(
        lambda n: {**hostile_queue(n, [A_ITEM[n]]),
                   capacity_path(n): capacity_text(n, "1" + "0" * 400, [A_ITEM[n]]).encode()},
        lambda n: [JOB_A[n]]),
    "counts NaN": Hostile(
        lambda n: {**hostile_queue(n, [A_ITEM[n]]),
                   capacity_path(n): capacity_text(n, "NaN", [A_ITEM[n]]).encode()}, None),
    "nested 1,500 deep": Hostile(lambda n: {queue_path(n): b"[" * 1500 + b"]" * 1500}, None),
    "nested 1,500 deep in a field": Hostile(
        lambda n: hostile_queue(n, [A_ITEM[n][:-1] + ',"replyRef":' + deep(1500).text + "}"]),
        None),
    "a 5,000-digit number": Hostile(
        lambda n: hostile_queue(n, [item_text(n, json.dumps(JOB_A[n]), "9" * 5000)]), None),
    "not JSON": Hostile(lambda n: {queue_path(n): b"\xff<html>"}, None),
}


def job_ok(path: str) -> bytes | None:
    """A completed job, in the shape of the job endpoint at `path` (None: no job endpoint)."""
    for prefix, body in (
            ("/v2/pixverse/videos/", {"video_status": 1, "video_status_name": "COMPLETED"}),
            ("/v1/pixverse/jobs/", {"status": "completed"}),  # legacy (non-`user:`) ids
            ("/v1/minimax/videos/", {"status": 2, "statusLabel": "completed",
                                     "statusFinal": True}),
            ("/v1/dreamina/videos/", {"status": "completed"})):
        if path.startswith(prefix):
            return json.dumps(body).encode()
    return None


class Upstream:
    """A MockTransport whose scheduler and capacity bodies a test swaps between ticks; every
    job it is asked about has completed."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.asked: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path in self.bodies:
            return httpx.Response(200, content=self.bodies[path])
        done = job_ok(path)
        if done is not None:
            self.asked.append(request.url.raw_path.decode())
            return httpx.Response(200, content=done)
        return httpx.Response(404, json={"error": "no route"})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("what", list(HOSTILE))
async def test_a_watcher_ticks_on_after_a_hostile_body(store: Store, name: str,
                                                       what: str) -> None:
    """good (A, B) → hostile → good (B): the hostile tick commits (a snapshot, or an upstream
    fault) and the next good tick reports normally: every job that left is posted."""
    upstream = Upstream()
    now = [NOW]
    client = UseapiClient("https://api.test", SecretStr("t0ken"), attempts=1,
                          transport=httpx.MockTransport(upstream))
    async with client:
        w = ProviderWatcher(providers.load(name)(client), store, stuck_after=STUCK,
                            poll_interval=30, default_channel=1, clock=lambda: now[0])
        upstream.bodies = good(name, JOB_A[name], JOB_B[name])
        first = await w.tick()
        assert first.ok and first.jobs == 2

        hostile_ = HOSTILE[what]
        upstream.bodies = {**good(name, JOB_A[name]), **hostile_.bodies(name)}
        now[0] += timedelta(seconds=30)
        report = await w.tick()
        states = await store.load_states(name)
        if hostile_.jobs is None:  # a typed upstream fault, counted towards the outage alert
            assert not report.ok and report.error is not None
            assert report.error.startswith(f"{name}: ")
            assert (states["upstream"].raw, states["upstream"].streak) == ("unreachable", 1)
            left_next = [JOB_A[name]]  # the stored snapshot still lists A and B
        else:
            assert report.ok and report.error is None, report.error
            assert w.latest is not None
            assert [j.id for j in w.latest.jobs] == hostile_.jobs(name)
            assert await store.load_snapshot(name) == w.latest  # committed
            row = await store.outbox_row(f"job:{name}:{JOB_B[name]}:completed")  # B left
            assert row is not None and row["state"] == "pending"
            left_next = hostile_.jobs(name)
            for job in w.latest.jobs:
                if job.elapsed_seconds == MAX_ELAPSED_SECONDS:  # absurd, so stuck: reported
                    assert await store.outbox_row(f"job:{name}:{job.id}:stuck") is not None

        upstream.bodies = good(name, JOB_B[name])  # all else finished meanwhile
        now[0] += timedelta(seconds=30)
        after = await w.tick()
        assert after.ok and after.error is None and after.jobs == 1
        assert after.resolved == len(left_next)
        for jid in left_next:  # each job that left is posted, whatever its id held
            row = await store.outbox_row(f"job:{name}:{jid}:completed")
            assert row is not None and row["state"] == "pending", jid
        assert w.errors == (0 if hostile_.jobs else 1)


async def test_a_surrogate_stored_by_older_code_heals_on_restart(store: Store) -> None:
    """Older code stored the lone surrogate (as a `\\ud800` escape) in the snapshot; every
    tick after the job left then failed, restarts included. Now the stored id loads as
    U+FFFD: the first tick after a restart resolves it and commits."""
    old = Snapshot("pixverse", NOW, (Job("pixverse", "user:1-pixverse:a@x.io-video:\ud800"),
                                     Job("pixverse", JOB_A["pixverse"])))
    await store.commit_tick("pixverse", now=NOW, batch="old", snapshot=old,
                            stuck_ids=frozenset({"\ud800"}))
    upstream = Upstream()
    upstream.bodies = good("pixverse", JOB_A["pixverse"])
    client = UseapiClient("https://api.test", SecretStr("t0ken"), attempts=1,
                          transport=httpx.MockTransport(upstream))
    async with client:
        w = ProviderWatcher(providers.load("pixverse")(client), store, stuck_after=STUCK,
                            poll_interval=30, default_channel=1,
                            clock=lambda: NOW + timedelta(seconds=30))
        report = await w.tick()
    assert report.ok and report.error is None and report.resolved == 1
    assert upstream.asked == ["/v2/pixverse/videos/user%3A1-pixverse%3Aa%40x.io-video%3A%EF%BF%BD"]
    row = await store.outbox_row("job:pixverse:user:1-pixverse:a@x.io-video:\ufffd:completed")
    assert row is not None and row["state"] == "pending"


@pytest.mark.parametrize("body", [b'{"error":"bad \\ud800 id"}',  # escaped
                                  b'{"error":"bad \xed\xa0\x80 id"}'])  # raw
async def test_an_error_message_holds_no_lone_surrogate(body: bytes) -> None:
    """An error body is upstream text like any other: its message reaches `/job` replies,
    alerts and the pending row's `last_error` (SQLite and PostgreSQL refuse a surrogate)."""
    client = UseapiClient("https://api.test", SecretStr("t0ken"), attempts=1,
                          transport=httpx.MockTransport(
                              lambda request: httpx.Response(500, content=body)))
    async with client:
        with pytest.raises(UpstreamError) as caught:
            await client.get_json("/v1/minimax/videos/x", provider="minimax")
    # Compared as ascii(): a failure's diff would otherwise carry the lone surrogate into
    # the test report, which pytest-xdist cannot send between processes (the worker dies).
    assert ascii(caught.value.message) == ascii("bad \ufffd id")
