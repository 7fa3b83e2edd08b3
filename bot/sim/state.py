"""The simulated useapi.net backend: accounts, running jobs, churn and ground truth.

Nothing here does I/O; `bot.sim.server` puts it behind HTTP and `bot.sim.render` turns it into
each provider's documented JSON.

Time and churn
    `sim.now()` is the clock (`clock=None` means real time) plus an offset that
    `sim.advance(seconds)` moves forward. Churn is lazy and event-driven: each job gets a
    planned duration and outcome when it starts, and new jobs arrive per provider as a seeded
    Poisson process whose rate keeps the running population near its target (Little's law,
    capped at 125 % of the target). `sim.step()` (called on every HTTP request) plays all events
    up to now in time order, so the state at a time T depends only on the seed, the clock values
    and the direct calls made, not on how often anybody looked. A jump of days plays every
    event of those days, which takes a while for big populations.

    With `churn=False` the seeded population is static: its jobs never end and none arrive.
    Jobs started with `start_job()` still end at their planned time, in both modes.

Capacity
    Every running job (any kind) takes one of its account's `maxJobs` slots. `maxJobs` is drawn
    from the provider's documented range and raised evenly across accounts when the jobs would
    not fit (with churn, 30 % headroom is kept so new jobs find free slots).

Ground truth
    `sim.history` lists `SimEvent`s in time order: job_started, job_finished (with the outcome),
    account_exhausted (its last free slot taken) and account_restored (a slot freed again). The
    seeded population's starts are not in it (they happened before the simulator existed); their
    ends are.
"""

from __future__ import annotations

import heapq
import math
import random
import re
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from bot.sim import names
from bot.sim.clock import Clock, from_ts, iso_ms, utc_now
from bot.sim.faults import Faults

Outcome = Literal["completed", "failed", "moderated", "cancelled"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
JobKind = Literal["video", "image", "music"]
EventKind = Literal["job_started", "job_finished", "account_exhausted", "account_restored"]

PROVIDERS: tuple[str, ...] = ("pixverse", "minimax", "dreamina")

#: How many requests `sim.requests` keeps (oldest dropped first).
REQUEST_LOG_MAX = 100_000
#: Legacy (v1) PixVerse jobs older than this answer 410 Gone.
LEGACY_EXPIRY = timedelta(days=31)

_OUTCOME_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("completed", 0.82), ("failed", 0.08), ("moderated", 0.07), ("cancelled", 0.03))
#: Jobs that run past an hour (shown as `h:mm:ss`) and then mostly fail.
_STUCK_SHARE = 0.015
_STUCK_DURATION = (3_700.0, 4 * 3_600.0, 5_400.0)
_STUCK_OUTCOMES: tuple[tuple[str, float], ...] = (
    ("failed", 0.6), ("cancelled", 0.25), ("completed", 0.15))
_REPLY_SHARE = 0.3
_HEADROOM = 1.3
_CAP = 1.25


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """Static facts about one simulated provider."""

    name: str
    #: Documented maxJobs range, and the values new accounts draw from.
    max_jobs_range: tuple[int, int]
    max_jobs_choices: tuple[int, ...]
    #: Kinds the churn produces, with weights.
    kinds: tuple[tuple[str, float], ...]
    #: Kinds `start_job` accepts.
    allowed_kinds: tuple[str, ...]
    #: Duration per kind in seconds: (low, high, mode) of a triangular distribution.
    durations: dict[str, tuple[float, float, float]]
    models: tuple[str, ...]

    def mean_duration(self) -> float:
        normal = sum(w * sum(self.durations[k]) / 3 for k, w in self.kinds)
        return (1 - _STUCK_SHARE) * normal + _STUCK_SHARE * sum(_STUCK_DURATION) / 3


SPECS: dict[str, ProviderSpec] = {
    "pixverse": ProviderSpec(
        "pixverse", (1, 8), (1, 2, 3, 4, 5, 6, 7, 8), (("video", 0.8), ("image", 0.2)),
        ("video", "image", "music"),
        {"video": (30, 240, 70), "image": (8, 60, 15), "music": (20, 120, 40)},
        ("v4.5", "v4.5", "v5")),
    "minimax": ProviderSpec(
        "minimax", (1, 10), (1, 2, 2, 3, 3, 3, 4, 4, 5, 6, 8, 10),
        (("video", 0.75), ("image", 0.25)), ("video", "image"),
        {"video": (90, 600, 200), "image": (15, 90, 30)},
        ("MiniMax-Hailuo-02", "T2V-01-Director", "I2V-01-live")),
    "dreamina": ProviderSpec(
        "dreamina", (1, 50), (3, 5, 10, 10, 10, 10, 15, 20, 25, 50), (("video", 1.0),),
        ("video",), {"video": (40, 900, 150)},
        ("seedance-2.0", "seedance-2.0", "seedance-1.0-pro", "seedance-1.0-lite")),
}


class CapacityError(ValueError):
    """No free slot on the account (or on any account) for a new job."""


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One thing that happened, for comparing what a bot reported with the truth."""

    t: datetime
    kind: EventKind
    provider: str
    job_id: str | None = None
    account: str | None = None
    outcome: str | None = None
    legacy: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"t": iso_ms(self.t), "kind": self.kind, "provider": self.provider,
                "job_id": self.job_id, "account": self.account, "outcome": self.outcome,
                "legacy": self.legacy}


@dataclass(slots=True, eq=False)
class SimRequest:
    """One request the server received (control API calls are not logged)."""

    t: datetime
    method: str
    path: str  #: raw, percent-encoded as received
    query: str  #: raw query string
    status: int | None = None  #: None while in flight, or when no answer was sent
    fault: str | None = None  #: kind of the fault that answered it, if any
    seconds: float | None = None  #: time to answer

    def to_dict(self) -> dict[str, Any]:
        return {"t": iso_ms(self.t), "method": self.method, "path": self.path,
                "query": self.query, "status": self.status, "fault": self.fault,
                "seconds": self.seconds}


@dataclass(slots=True)
class Pin:
    """A canned answer for one exact path (`sim.pin`)."""

    path: str
    body: Any
    status: int = 200
    content_type: str = "application/json"


@dataclass(slots=True, eq=False)
class SimJob:
    """One job. `outcome` is the planned outcome while running, the actual one afterwards."""

    id: str
    provider: str
    account: str | None
    kind: str
    n: int
    started_ts: float
    end_ts: float
    outcome: str
    prompt: str
    model: str
    started_iso: str
    legacy: bool = False
    reply_url: str | None = None
    reply_ref: str | None = None
    submit_id: str | None = None
    finished_ts: float | None = None
    verb: str | None = None

    @property
    def running(self) -> bool:
        return self.finished_ts is None

    @property
    def started(self) -> datetime:
        return from_ts(self.started_ts)

    @property
    def finished(self) -> datetime | None:
        return None if self.finished_ts is None else from_ts(self.finished_ts)

    @property
    def planned_end(self) -> datetime | None:
        return None if math.isinf(self.end_ts) else from_ts(self.end_ts)

    @property
    def removed(self) -> bool:
        """MiniMax: a finished moderated job that answers 404 (three in four of them)."""
        return (self.provider == "minimax" and not self.running
                and self.outcome == "moderated" and self.n % 4 != 0)

    def elapsed(self, now_ts: float) -> float:
        end = now_ts if self.finished_ts is None else self.finished_ts
        return max(0.0, end - self.started_ts)

    def to_dict(self, now_ts: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "provider": self.provider, "account": self.account,
            "kind": self.kind, "started": self.started_iso, "running": self.running,
            "outcome": self.outcome, "legacy": self.legacy, "model": self.model,
            "plannedEnd": None if math.isinf(self.end_ts) else iso_ms(self.end_ts),
            "finished": None if self.finished_ts is None else iso_ms(self.finished_ts),
        }
        if now_ts is not None:
            out["elapsedSeconds"] = int(self.elapsed(now_ts))
        return out


@dataclass(slots=True, eq=False)
class SimAccount:
    """One provider account and the jobs it is running (treat as read-only)."""

    provider: str
    account: str  #: the key useapi uses: email, numeric id, or `REGION:email`
    max_jobs: int
    email: str | None
    region: str | None
    ext_id: int  #: upstream user id (PixVerse AccountId, MiniMax user id)
    created_ts: float
    expires_ts: float  #: jwt / session expiry
    running: dict[str, SimJob] = field(default_factory=dict)
    videos: int = 0  #: running video jobs (MiniMax's capacity counts only these)

    @property
    def executing(self) -> int:
        return len(self.running)

    @property
    def available(self) -> int:
        return max(0, self.max_jobs - len(self.running))

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "account": self.account, "maxJobs": self.max_jobs,
                "executing": self.executing, "available": self.available,
                "videos": self.videos}


class _IndexedSet:
    """Insertion-ordered set with O(1) add/discard and seeded random choice."""

    __slots__ = ("_index", "_items")

    def __init__(self) -> None:
        self._items: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, item: str) -> None:
        if item not in self._index:
            self._index[item] = len(self._items)
            self._items.append(item)

    def discard(self, item: str) -> None:
        i = self._index.pop(item, None)
        if i is None:
            return
        last = self._items.pop()
        if i < len(self._items):
            self._items[i] = last
            self._index[last] = i

    def choice(self, rng: random.Random) -> str:
        return self._items[rng.randrange(len(self._items))]

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item: object) -> bool:
        return item in self._index


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _weighted(rng: random.Random, choices: Sequence[tuple[str, float]]) -> str:
    roll = rng.random() * sum(w for _, w in choices)
    for value, weight in choices:
        roll -= weight
        if roll < 0:
            return value
    return choices[-1][0]


def _ms(ts: float) -> float:
    return math.floor(ts * 1000) / 1000


class Simulator:
    """A seeded, churning imitation of useapi.net's PixVerse, MiniMax and Dreamina APIs.

    `accounts` and `jobs` are totals across the enabled providers, split evenly (every enabled
    provider gets at least one account). `jobs` is the running population: the seeded start
    state and, with churn, the level it hovers around.

    `token`: the bearer token the server accepts. `clock`: returns aware UTC now (default real
    time; tests pass a `ManualClock`). `churn=False`: a static population (benchmarks, big
    payloads). `legacy_jobs`: how many v1 PixVerse jobs to seed (default max(6, PixVerse
    jobs // 10); one of each state first, then random, about a third expired). `quirks`: list
    some MiniMax image jobs under `videoId` as the documented examples do (odd job numbers).

    Ids: PixVerse `user:{uid}-pixverse:{email}-{video|image}:{n}`, MiniMax
    `user:{uid}-minimax:{account}-{video|image}:{n}`, Dreamina
    `j{MMDDHHMMSS}{9 digits}v-u{uid}-{REGION}:{email}:dreamina`, legacy PixVerse v1
    `j{MMDDHHMMSS}{9 digits}-pixverse`; `uid` is fixed per simulator (`sim.uid`).
    """

    def __init__(self, seed: int = 1, accounts: int = 30, jobs: int = 60,
                 token: str = "sim-token", clock: Clock | None = None,
                 providers: Iterable[str] = PROVIDERS, churn: bool = True, *,
                 legacy_jobs: int | None = None, quirks: bool = True) -> None:
        self.providers: tuple[str, ...] = tuple(providers)
        unknown = [p for p in self.providers if p not in SPECS]
        if unknown or not self.providers or len(set(self.providers)) != len(self.providers):
            raise ValueError(f"providers must be distinct names from {PROVIDERS}, "
                             f"got {self.providers!r}")
        if accounts < 0 or jobs < 0:
            raise ValueError("accounts and jobs must not be negative")
        self.seed = seed
        self.token = token
        self.churn = churn
        #: MiniMax lists some image jobs under `videoId`, as its documented examples do.
        self.quirks = quirks
        self._clock: Clock = clock or utc_now
        self._offset = 0.0
        self._rng = random.Random(f"{seed}:population")
        self._churn_rng = random.Random(f"{seed}:churn")
        self._ctl_rng = random.Random(f"{seed}:control")
        self.faults = Faults(seed)
        self.history: list[SimEvent] = []
        self.requests: deque[SimRequest] = deque(maxlen=REQUEST_LOG_MAX)
        self.pins: dict[str, Pin] = {}
        self.uid = self._rng.randint(10_000, 99_999)

        self._jobs: dict[str, SimJob] = {}
        self._legacy: dict[str, SimJob] = {}
        self._accounts: dict[str, dict[str, SimAccount]] = {p: {} for p in self.providers}
        self._running: dict[str, dict[str, SimJob]] = {p: {} for p in self.providers}
        self._free: dict[str, _IndexedSet] = {p: _IndexedSet() for p in self.providers}
        self._targets: dict[str, int] = {}
        self._rates: dict[str, float] = {}
        self._next_arrival: dict[str, float] = {}
        self._ends: list[tuple[float, int, str]] = []
        self._last_event = -math.inf
        self._seq = 0
        self._counters: dict[str, int] = {
            "pixverse": self._rng.randint(300_000_000, 350_000_000),
            "minimax": self._rng.randint(360_000_000_000_000_000, 369_000_000_000_000_000),
            "dreamina": self._rng.randint(100_000_000, 800_000_000),
            "legacy": self._rng.randint(100_000_000, 800_000_000),
        }

        self.t0 = self.now()
        t0 = self.t0.timestamp()
        self._last = t0
        acct_split = _split(accounts, len(self.providers))
        job_split = _split(jobs, len(self.providers))
        taken: set[str] = set()
        for p, n_acc, n_jobs in zip(self.providers, acct_split, job_split, strict=True):
            self._populate(p, max(1, n_acc), n_jobs, t0, taken)
        if "pixverse" in self.providers:
            count = legacy_jobs if legacy_jobs is not None else max(6, job_split[0] // 10)
            self._populate_legacy(count, t0)
        for p in self.providers:
            self._schedule_arrival(p, t0)

    # ------------------------------------------------------------------ time

    def now(self) -> datetime:
        """The simulator's current time (clock + advanced offset), aware UTC."""
        return self._clock() + timedelta(seconds=self._offset)

    def now_ts(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        """Move simulated time forward and play the churn up to the new now."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._offset += seconds
        self.step()
        return self.now()

    def step(self) -> int:
        """Bring the state up to now (finish due jobs, start arrivals). Returns events played."""
        now = self.now_ts()
        if now < self._last:
            return 0
        played = 0
        ends = self._ends
        while True:
            t_end = ends[0][0] if ends else math.inf
            p_arr, t_arr = None, math.inf
            if self.churn:
                for p, t in self._next_arrival.items():
                    if t < t_arr:
                        p_arr, t_arr = p, t
            if t_end <= t_arr:
                if t_end > now:
                    break
                _, _, job_id = heapq.heappop(ends)
                job = self._jobs.get(job_id) or self._legacy.get(job_id)
                if job is None or not job.running or job.end_ts != t_end:
                    continue
                self._finish(job, t_end, job.outcome)
            else:
                if t_arr > now or p_arr is None:
                    break
                self._arrive(p_arr, t_arr)
            played += 1
        self._last = now
        return played

    # ------------------------------------------------------------------ population

    def _populate(self, p: str, n_acc: int, n_jobs: int, t0: float, taken: set[str]) -> None:
        spec, rng = SPECS[p], self._rng
        if p == "minimax":
            keys = names.unique_numeric_ids(rng, n_acc, taken)
            emails: list[str | None] = [None] * n_acc
            regions: list[str | None] = [None] * n_acc
        else:
            found = names.unique_emails(rng, n_acc, taken)
            emails = list(found)
            if p == "dreamina":
                regions = ["CA" if rng.random() < 0.4 else "US" for _ in found]
                keys = [f"{r}:{e}" for r, e in zip(regions, found, strict=True)]
            else:
                regions = [None] * n_acc
                keys = found
        max_jobs = [rng.choice(spec.max_jobs_choices) for _ in keys]
        need = math.ceil(n_jobs * _HEADROOM) if self.churn else n_jobs
        deficit = need - sum(max_jobs)
        if deficit > 0:
            max_jobs = [m + d for m, d in zip(max_jobs, _split(deficit, n_acc), strict=True)]
        for key, email, region, mj in zip(keys, emails, regions, max_jobs, strict=True):
            acct = SimAccount(
                provider=p, account=key, max_jobs=mj, email=email, region=region,
                ext_id=rng.randint(100_000, 9_999_999),
                created_ts=t0 - rng.uniform(1, 200) * 86_400,
                expires_ts=t0 + rng.uniform(0.5 if p == "dreamina" else 1.0, 60.0) * 86_400)
            self._accounts[p][key] = acct
            if acct.available:
                self._free[p].add(key)

        planned = []
        for _ in range(n_jobs):
            kind, duration, outcome = self._draw(p, rng)
            elapsed = rng.uniform(0, duration)
            planned.append((_ms(t0 - elapsed), kind, duration, outcome))
        planned.sort(key=lambda item: item[0])
        for started, kind, duration, outcome in planned:
            acct = self._accounts[p][self._free[p].choice(rng)]
            end = started + duration if self.churn else math.inf
            self._start(p, acct, started, kind, end, outcome, rng, record=False)

        self._targets[p] = n_jobs
        self._rates[p] = n_jobs / spec.mean_duration()

    def _populate_legacy(self, count: int, t0: float) -> None:
        """Old v1 PixVerse jobs, one of each state first, about a third of them expired."""
        rng = self._rng
        states = ["expired", "completed", "failed", "moderated", "cancelled", "progress"]
        for i in range(count):
            state = states[i] if i < len(states) else rng.choice(states)
            if state == "expired":
                created = t0 - rng.uniform(32, 60) * 86_400
                outcome = _weighted(rng, _OUTCOME_WEIGHTS)
            elif state == "progress":
                created = t0 - rng.uniform(30, 200)
                outcome = _weighted(rng, _OUTCOME_WEIGHTS)
            else:
                created = t0 - rng.uniform(600, 30 * 86_400)
                outcome = state
            duration = rng.uniform(60, 600)
            job = self._new_legacy(_ms(created), duration, outcome, rng)
            if state == "progress":
                job.end_ts = job.started_ts + duration if self.churn else math.inf
                if not math.isinf(job.end_ts):
                    self._push_end(job)
            else:
                job.finished_ts = job.started_ts + duration

    def _draw(self, p: str, rng: random.Random, kind: str | None = None) -> tuple[str, float, str]:
        spec = SPECS[p]
        kind = kind or _weighted(rng, spec.kinds)
        if rng.random() < _STUCK_SHARE:
            return kind, rng.triangular(*_STUCK_DURATION), _weighted(rng, _STUCK_OUTCOMES)
        return kind, rng.triangular(*spec.durations[kind]), _weighted(rng, _OUTCOME_WEIGHTS)

    def _schedule_arrival(self, p: str, t: float) -> None:
        rate = self._rates.get(p, 0.0)
        self._next_arrival[p] = (max(t, _ms(t + self._churn_rng.expovariate(rate)))
                                 if self.churn and rate > 0 else math.inf)

    def _arrive(self, p: str, t: float) -> None:
        rng = self._churn_rng
        cap = math.ceil(self._targets[p] * _CAP)
        if self._free[p] and len(self._running[p]) < cap:
            acct = self._accounts[p][self._free[p].choice(rng)]
            kind, duration, outcome = self._draw(p, rng)
            self._start(p, acct, t, kind, t + duration, outcome, rng)
        self._schedule_arrival(p, t)

    def _next_n(self, key: str) -> int:
        self._counters[key] += 1
        return self._counters[key]

    def _job_id(self, p: str, acct: SimAccount, kind: str, n: int, started: float) -> str:
        if p == "dreamina":
            suffix = "v" if kind == "video" else "i"
            return (f"j{from_ts(started):%m%d%H%M%S}{n % 1_000_000_000:09d}{suffix}"
                    f"-u{self.uid}-{acct.account}:dreamina")
        return f"user:{self.uid}-{p}:{acct.account}-{kind}:{n}"

    def _start(self, p: str, acct: SimAccount, started: float, kind: str, end: float,
               outcome: str, rng: random.Random, *, record: bool = True,
               reply_url: str | None = None, reply_ref: str | None = None) -> SimJob:
        n = self._next_n(p)
        if reply_url is None and rng.random() < _REPLY_SHARE:
            reply_url = f"https://hooks.opsbot.example/useapi/{p}"
            reply_ref = f"ref-{n % 100_000:05d}"
        job = SimJob(
            id=self._job_id(p, acct, kind, n, started), provider=p, account=acct.account,
            kind=kind, n=n, started_ts=started, end_ts=end, outcome=outcome,
            prompt=names.prompt(rng), model=rng.choice(SPECS[p].models),
            started_iso=iso_ms(started), reply_url=reply_url, reply_ref=reply_ref,
            submit_id=str(uuid.UUID(int=rng.getrandbits(128), version=4))
            if p == "dreamina" else None)
        acct.running[job.id] = job
        if kind == "video":
            acct.videos += 1
        self._running[p][job.id] = job
        self._jobs[job.id] = job
        if not math.isinf(end):
            self._push_end(job)
        if record:
            self._record(started, "job_started", p, job.id, acct.account)
        if acct.available == 0:
            self._free[p].discard(acct.account)
            if record:
                self._record(started, "account_exhausted", p, None, acct.account)
        return job

    def _new_legacy(self, created: float, duration: float, outcome: str,
                    rng: random.Random) -> SimJob:
        n = self._next_n("legacy")
        job_id = f"j{from_ts(created):%m%d%H%M%S}{n % 1_000_000_000:09d}-pixverse"
        job = SimJob(
            id=job_id, provider="pixverse", account=None, kind="video", n=n,
            started_ts=created, end_ts=created + duration, outcome=outcome,
            prompt=names.prompt(rng), model="v1", started_iso=iso_ms(created), legacy=True,
            verb=rng.choice(("pixverse-create", "pixverse-create_single", "pixverse-animate")))
        self._legacy[job_id] = job
        return job

    def _push_end(self, job: SimJob) -> None:
        self._seq += 1
        heapq.heappush(self._ends, (job.end_ts, self._seq, job.id))

    def _finish(self, job: SimJob, t: float, outcome: str) -> None:
        job.finished_ts = t
        job.outcome = outcome
        p = job.provider
        if job.legacy:
            self._record(t, "job_finished", p, job.id, None, outcome, legacy=True)
            return
        assert job.account is not None
        acct = self._accounts[p][job.account]
        was_full = acct.available == 0
        del acct.running[job.id]
        if job.kind == "video":
            acct.videos -= 1
        del self._running[p][job.id]
        self._record(t, "job_finished", p, job.id, acct.account, outcome)
        if was_full and acct.available > 0:
            self._free[p].add(acct.account)
            self._record(t, "account_restored", p, None, acct.account)

    def _record(self, t: float, kind: EventKind, provider: str, job_id: str | None,
                account: str | None, outcome: str | None = None, *,
                legacy: bool = False) -> None:
        t = max(t, self._last_event)  # history stays in time order (e.g. a backdated start)
        self._last_event = t
        self.history.append(SimEvent(from_ts(t), kind, provider, job_id, account, outcome,
                                     legacy))

    # ------------------------------------------------------------------ direct control

    def _provider(self, provider: str) -> str:
        if provider not in self._accounts:
            raise ValueError(f"provider {provider!r} is not simulated "
                             f"(enabled: {', '.join(self.providers)})")
        return provider

    def start_job(self, provider: str, account: str | None = None, kind: str = "video",
                  duration: float | None = None, outcome: str | None = "completed",
                  legacy: bool = False, *, reply_url: str | None = None,
                  reply_ref: str | None = None, elapsed: float = 0.0) -> str:
        """Start a job now (or `elapsed` seconds ago); returns its id.

        `account=None` picks a random account with a free slot. `duration=None` draws one;
        `float("inf")` never ends by itself. `outcome=None` draws one. `legacy=True` (PixVerse
        only) makes a v1 job, reachable only through `/v1/pixverse/jobs/?jobid=`, that takes
        no account slot. Raises `CapacityError` when there is no free slot, KeyError for an
        unknown account, ValueError for a bad provider, kind or outcome.
        """
        p = self._provider(provider)
        self.step()
        rng = self._ctl_rng
        spec = SPECS[p]
        if kind not in spec.allowed_kinds:
            raise ValueError(f"{p} jobs are {', '.join(spec.allowed_kinds)}, not {kind!r}")
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        _, drawn_duration, drawn_outcome = self._draw(p, rng, kind)
        duration = drawn_duration if duration is None else float(duration)
        outcome = outcome or drawn_outcome
        if duration < 0 or elapsed < 0:
            raise ValueError("duration and elapsed must not be negative")
        started = _ms(self.now_ts() - elapsed)
        if legacy:
            if p != "pixverse":
                raise ValueError("only PixVerse has legacy (v1) jobs")
            job = self._new_legacy(started, duration, outcome, rng)
            if not math.isinf(job.end_ts):
                self._push_end(job)
            self._record(started, "job_started", p, job.id, None, legacy=True)
            self.step()
            return job.id
        if account is None:
            if not self._free[p]:
                raise CapacityError(f"every {p} account is busy")
            acct = self._accounts[p][self._free[p].choice(rng)]
        else:
            acct = self.account(p, account)
            if acct.available == 0:
                raise CapacityError(f"{p} account {account} has no free slot "
                                    f"({acct.executing}/{acct.max_jobs})")
        job = self._start(p, acct, started, kind, started + duration, outcome, rng,
                          reply_url=reply_url, reply_ref=reply_ref)
        self.step()
        return job.id

    def finish_job(self, job_id: str, outcome: str = "completed") -> SimJob:
        """End a running job now with `outcome`. KeyError if unknown, ValueError if ended."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        self.step()
        job = self.job(job_id)
        if job is None:
            raise KeyError(f"no job {job_id!r}")
        if not job.running:
            raise ValueError(f"job {job_id} already ended ({job.outcome})")
        self._finish(job, max(self.now_ts(), job.started_ts), outcome)
        return job

    def fill_account(self, provider: str, account: str, *, kind: str = "video",
                     duration: float | None = None, outcome: str | None = "completed",
                     ) -> list[str]:
        """Start jobs on `account` until it has no free slot; returns their ids."""
        acct = self.account(self._provider(provider), account)
        return [self.start_job(provider, account, kind, duration, outcome)
                for _ in range(acct.available)]

    def free_account(self, provider: str, account: str, outcome: str = "completed",
                     ) -> list[str]:
        """End every job running on `account` with `outcome`; returns their ids."""
        acct = self.account(self._provider(provider), account)
        ids = list(acct.running)
        for job_id in ids:
            self.finish_job(job_id, outcome)
        return ids

    def set_max_jobs(self, provider: str, account: str, max_jobs: int) -> None:
        """Change an account's maxJobs (like POST /accounts). Running jobs are not stopped."""
        if max_jobs < 0:
            raise ValueError("maxJobs must not be negative")
        p = self._provider(provider)
        acct = self.account(p, account)
        self.step()
        was_free = acct.available > 0
        acct.max_jobs = max_jobs
        now = self.now_ts()
        if acct.available > 0:
            self._free[p].add(acct.account)
            if not was_free:
                self._record(now, "account_restored", p, None, acct.account)
        else:
            self._free[p].discard(acct.account)
            if was_free:
                self._record(now, "account_exhausted", p, None, acct.account)

    # ------------------------------------------------------------------ views

    def account(self, provider: str, account: str) -> SimAccount:
        try:
            return self._accounts[self._provider(provider)][account]
        except KeyError:
            raise KeyError(f"no {provider} account {account!r}") from None

    def accounts(self, provider: str) -> list[SimAccount]:
        """The provider's accounts in creation order (live objects: treat as read-only)."""
        self.step()
        return list(self._accounts[self._provider(provider)].values())

    def running(self, provider: str | None = None) -> list[SimJob]:
        """Jobs running now, oldest start first (all providers when `provider` is None)."""
        self.step()
        if provider is not None:
            return list(self._running[self._provider(provider)].values())
        return [j for p in self.providers for j in self._running[p].values()]

    def job(self, job_id: str) -> SimJob | None:
        """Any job by id, running or ended, legacy included."""
        return self._jobs.get(job_id) or self._legacy.get(job_id)

    def legacy_jobs(self) -> list[SimJob]:
        return list(self._legacy.values())

    def legacy_expired(self, job: SimJob, now_ts: float | None = None) -> bool:
        now_ts = self.now_ts() if now_ts is None else now_ts
        return now_ts - job.started_ts > LEGACY_EXPIRY.total_seconds()

    def target(self, provider: str) -> int:
        """The running population churn keeps `provider` near."""
        return self._targets[self._provider(provider)]

    def events(self, kind: str | None = None, provider: str | None = None) -> list[SimEvent]:
        """`history` filtered by event kind and/or provider."""
        return [e for e in self.history if (kind is None or e.kind == kind)
                and (provider is None or e.provider == provider)]

    # Internal-but-stable accessors for the renderers (no copies, no step()).
    def iter_running(self, provider: str) -> Iterable[SimJob]:
        return self._running[provider].values()

    def iter_accounts(self, provider: str) -> Iterable[SimAccount]:
        return self._accounts[provider].values()

    def find_account(self, provider: str, account: str) -> SimAccount | None:
        return self._accounts.get(provider, {}).get(account)

    # ------------------------------------------------------------------ pins, requests

    def pin(self, path: str, body: Any, status: int = 200, *,
            content_type: str = "application/json") -> None:
        """Answer requests for exactly `path` with `body` (JSON value; bytes/str sent as-is).

        `path` is compared with the raw and the percent-decoded request path; a `path` with a
        `?` is compared with path plus query string. Faults still win over pins.
        """
        if not path.startswith("/"):
            raise ValueError("pin paths start with '/'")
        self.pins[path] = Pin(path, body, status, content_type)

    def unpin(self, path: str | None = None) -> int:
        """Remove the pin for `path`, or all pins. Returns how many were removed."""
        if path is None:
            count = len(self.pins)
            self.pins.clear()
            return count
        return 1 if self.pins.pop(path, None) is not None else 0

    def pinned(self, *candidates: str) -> Pin | None:
        for candidate in candidates:
            found = self.pins.get(candidate)
            if found is not None:
                return found
        return None

    def log_request(self, method: str, path: str, query: str) -> SimRequest:
        entry = SimRequest(self.now(), method, path, query)
        self.requests.append(entry)
        return entry

    def request_count(self, pattern: str | None = None, *, method: str | None = None) -> int:
        """Logged requests whose raw path matches `pattern` (regex search), all if None."""
        regex = re.compile(pattern) if pattern is not None else None
        return sum(1 for r in self.requests
                   if (regex is None or regex.search(r.path))
                   and (method is None or r.method == method))

    # ------------------------------------------------------------------ state dump

    def state(self) -> dict[str, Any]:
        """Everything a test in another process needs, as JSON-able data."""
        self.step()
        now = self.now_ts()
        return {
            "now": iso_ms(now),
            "seed": self.seed,
            "churn": self.churn,
            "uid": self.uid,
            "providers": {
                p: {
                    "target": self._targets[p],
                    "accounts": [a.to_dict() for a in self._accounts[p].values()],
                    "running": [j.to_dict(now) for j in self._running[p].values()],
                } for p in self.providers
            },
            "legacy": [dict(j.to_dict(now), expired=self.legacy_expired(j, now))
                       for j in self._legacy.values()],
            "history": len(self.history),
            "requests": len(self.requests),
            "faults": [f.to_dict() for f in self.faults.active()],
            "pins": sorted(self.pins),
        }

    def __repr__(self) -> str:
        counts = ", ".join(f"{p}={len(self._running[p])}" for p in self.providers)
        return f"<Simulator seed={self.seed} churn={self.churn} running({counts})>"
