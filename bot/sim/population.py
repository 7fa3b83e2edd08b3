"""The simulated population: accounts and their jobs, the churn, the capacity.

Time and churn
    Churn is lazy and event-driven: each job gets a planned duration and outcome when it
    starts, and new jobs arrive per provider as a seeded Poisson process whose rate keeps the
    running population near its target (Little's law, capped at 125 % of the target).
    `play(now)` plays all events up to `now` in time order, so the state at a time T depends
    only on the seed, the clock values and the direct calls made, not on how often anybody
    looked. A jump of days plays every event of those days, which takes a while for big
    populations.

    With `churn=False` the seeded population is static: its jobs never end and none arrive.
    Jobs started directly still end at their planned time, in both modes.

Capacity
    Every running job (any kind) takes one of its account's `maxJobs` slots. `maxJobs` is drawn
    from the provider's documented range and raised evenly across accounts when the jobs would
    not fit (with churn, 30 % headroom is kept so new jobs find free slots).

Jobs and ground truth
    What a new job is drawn to be (kind, duration, outcome) is `bot.sim.draws`; every start,
    end, exhausted and restored account is recorded in `history` (`bot.sim.history`).
"""

from __future__ import annotations

import heapq
import math
import random

from bot.sim import draws, names
from bot.sim.clock import from_ts, iso_ms
from bot.sim.history import History
from bot.sim.model import SimAccount, SimEvent, SimJob
from bot.sim.providers import SPECS

#: The provider that also has legacy (v1) jobs, reachable only by id and taking no slot.
LEGACY_PROVIDER = "pixverse"
#: The range the first legacy job number is drawn from.
_LEGACY_FIRST_NUMBER = (100_000_000, 800_000_000)

#: The share of jobs started with a `replyUrl`.
_REPLY_SHARE = 0.3
#: Of those, one in this many names a Discord member as its `replyRef` (`discord:<id>`, one
#: of `SIM_MEMBERS`), as a team's own tool would: the alert for it mentions that member.
_DISCORD_REF_EVERY = 4
#: The Discord members the simulated tools submit for.
SIM_MEMBERS: tuple[int, ...] = (1200000000000000901, 1200000000000000902, 1200000000000000903)
#: With churn, `maxJobs` covers this many times the target population …
_HEADROOM = 1.3
#: … and arrivals stop while this many times the target are running.
_CAP = 1.25


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


def ms(ts: float) -> float:
    """`ts` cut to whole milliseconds (what an ISO time with three decimals can say)."""
    return math.floor(ts * 1000) / 1000


class Population:
    """The accounts and jobs of the enabled providers, seeded at `t0` and played forward.

    `accounts`, `running`, `jobs`, `legacy` and `free` are read by the `Simulator`; they
    change only through the methods here.
    """

    def __init__(
        self,
        providers: tuple[str, ...],
        seed: int,
        t0: float,
        *,
        accounts: int,
        jobs: int,
        churn: bool,
        legacy_jobs: int | None,
    ) -> None:
        self.providers = providers
        self.churn = churn
        self._rng = random.Random(f"{seed}:population")
        self._churn_rng = random.Random(f"{seed}:churn")
        self.truth = History()
        #: Ground truth: what happened, in time order (`bot.sim.history`).
        self.history: list[SimEvent] = self.truth.events
        self.uid = self._rng.randint(10_000, 99_999)
        self.jobs: dict[str, SimJob] = {}
        self.legacy: dict[str, SimJob] = {}
        self.accounts: dict[str, dict[str, SimAccount]] = {p: {} for p in providers}
        self.running: dict[str, dict[str, SimJob]] = {p: {} for p in providers}
        self.free: dict[str, _IndexedSet] = {p: _IndexedSet() for p in providers}
        self.targets: dict[str, int] = {}
        self._rates: dict[str, float] = {}
        self._next_arrival: dict[str, float] = {}
        self._ends: list[tuple[float, int, str]] = []
        self._seq = 0
        # Every known provider draws its first number, enabled or not, in `SPECS` order: the
        # draws that follow, and so a seed's whole population, depend on it.
        self._counters = {
            name: self._rng.randint(*spec.first_number) for name, spec in SPECS.items()
        }
        self._counters["legacy"] = self._rng.randint(*_LEGACY_FIRST_NUMBER)
        self._last = t0
        acct_split = _split(accounts, len(providers))
        job_split = _split(jobs, len(providers))
        taken: set[str] = set()
        for p, n_acc, n_jobs in zip(providers, acct_split, job_split, strict=True):
            self._populate(p, max(1, n_acc), n_jobs, t0, taken)
        if LEGACY_PROVIDER in providers:
            count = legacy_jobs if legacy_jobs is not None else max(6, job_split[0] // 10)
            self._populate_legacy(count, t0)
        for p in providers:
            self._schedule_arrival(p, t0)

    def job(self, job_id: str) -> SimJob | None:
        return self.jobs.get(job_id) or self.legacy.get(job_id)

    # ------------------------------------------------------------------ playing time

    def play(self, now: float) -> int:
        """Play every event up to `now` (due ends, arrivals). Returns how many."""
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
                job = self.job(job_id)
                if job is None or not job.running or job.end_ts != t_end:
                    continue
                self.finish(job, t_end, job.outcome)
            else:
                if t_arr > now or p_arr is None:
                    break
                self._arrive(p_arr, t_arr)
            played += 1
        self._last = now
        return played

    def _schedule_arrival(self, p: str, t: float) -> None:
        rate = self._rates.get(p, 0.0)
        self._next_arrival[p] = (
            max(t, ms(t + self._churn_rng.expovariate(rate)))
            if self.churn and rate > 0
            else math.inf
        )

    def _arrive(self, p: str, t: float) -> None:
        rng = self._churn_rng
        cap = math.ceil(self.targets[p] * _CAP)
        if self.free[p] and len(self.running[p]) < cap:
            acct = self.accounts[p][self.free[p].choice(rng)]
            kind, duration, outcome = draws.draw(p, rng)
            self.start(p, acct, t, kind, t + duration, outcome, rng)
        self._schedule_arrival(p, t)

    # ------------------------------------------------------------------ seeding

    def _populate(self, p: str, n_acc: int, n_jobs: int, t0: float, taken: set[str]) -> None:
        self._open_accounts(p, n_acc, n_jobs, t0, taken)
        rng = self._rng
        planned = []
        for _ in range(n_jobs):
            kind, duration, outcome = draws.draw(p, rng)
            elapsed = rng.uniform(0, duration)
            planned.append((ms(t0 - elapsed), kind, duration, outcome))
        planned.sort(key=lambda item: item[0])
        for started, kind, duration, outcome in planned:
            acct = self.accounts[p][self.free[p].choice(rng)]
            end = started + duration if self.churn else math.inf
            self.start(p, acct, started, kind, end, outcome, rng, record=False)
        self.targets[p] = n_jobs
        self._rates[p] = n_jobs / draws.mean_duration(SPECS[p])

    def _open_accounts(self, p: str, n_acc: int, n_jobs: int, t0: float, taken: set[str]) -> None:
        """`n_acc` new accounts of `p`, with room for `n_jobs` (and headroom, with churn)."""
        spec, rng = SPECS[p], self._rng
        seeds = spec.new_accounts(rng, n_acc, taken)
        max_jobs = [rng.choice(spec.max_jobs_choices) for _ in seeds]
        need = math.ceil(n_jobs * _HEADROOM) if self.churn else n_jobs
        deficit = need - sum(max_jobs)
        if deficit > 0:
            max_jobs = [m + d for m, d in zip(max_jobs, _split(deficit, n_acc), strict=True)]
        for (key, email, region), mj in zip(seeds, max_jobs, strict=True):
            acct = SimAccount(
                provider=p,
                account=key,
                max_jobs=mj,
                email=email,
                region=region,
                ext_id=rng.randint(100_000, 9_999_999),
                created_ts=t0 - rng.uniform(1, 200) * 86_400,
                expires_ts=t0 + rng.uniform(*spec.session_days) * 86_400,
            )
            self.accounts[p][key] = acct
            if acct.available:
                self.free[p].add(key)

    def _populate_legacy(self, count: int, t0: float) -> None:
        """Old v1 PixVerse jobs, one of each state first, about a third of them expired."""
        rng = self._rng
        states = ["expired", "completed", "failed", "moderated", "cancelled", "progress"]
        for i in range(count):
            state = states[i] if i < len(states) else rng.choice(states)
            if state == "expired":
                created = t0 - rng.uniform(32, 60) * 86_400
                outcome = draws.outcome(rng)
            elif state == "progress":
                created = t0 - rng.uniform(30, 200)
                outcome = draws.outcome(rng)
            else:
                created = t0 - rng.uniform(600, 30 * 86_400)
                outcome = state
            duration = rng.uniform(60, 600)
            job = self._new_legacy(ms(created), duration, outcome, rng)
            if state == "progress":
                job.end_ts = job.started_ts + duration if self.churn else math.inf
                if not math.isinf(job.end_ts):
                    self._push_end(job)
            else:
                job.finished_ts = job.started_ts + duration

    # ------------------------------------------------------------------ jobs

    def _next_n(self, key: str) -> int:
        self._counters[key] += 1
        return self._counters[key]

    def start(
        self,
        p: str,
        acct: SimAccount,
        started: float,
        kind: str,
        end: float,
        outcome: str,
        rng: random.Random,
        *,
        record: bool = True,
        reply_url: str | None = None,
        reply_ref: str | None = None,
        members: bool = True,
    ) -> SimJob:
        """Start a job on `acct` (which must have a free slot). `members`: a drawn `replyRef`
        may name a Discord member (`SIM_MEMBERS`); a job a test starts itself says
        `members=False`, so it pings nobody unless the test gives it such a ref."""
        spec = SPECS[p]
        n = self._next_n(p)
        if reply_url is None and rng.random() < _REPLY_SHARE:
            reply_url = f"https://hooks.opsbot.example/useapi/{p}"
            # Chosen by the job's number, not the rng: a seed's jobs stay the jobs they were.
            if members and n % _DISCORD_REF_EVERY == 0:
                reply_ref = f"discord:{SIM_MEMBERS[n // _DISCORD_REF_EVERY % len(SIM_MEMBERS)]}"
            else:
                reply_ref = f"ref-{n % 100_000:05d}"
        job = SimJob(
            id=spec.job_id(self.uid, acct.account, kind, n, started),
            provider=p,
            account=acct.account,
            kind=kind,
            n=n,
            started_ts=started,
            end_ts=end,
            outcome=outcome,
            prompt=names.prompt(rng),
            model=rng.choice(spec.models),
            started_iso=iso_ms(started),
            reply_url=reply_url,
            reply_ref=reply_ref,
            submit_id=spec.submit_id(rng),
        )
        acct.running[job.id] = job
        if kind == "video":
            acct.videos += 1
        self.running[p][job.id] = job
        self.jobs[job.id] = job
        if not math.isinf(end):
            self._push_end(job)
        if record:
            self.truth.record(started, "job_started", p, job.id, acct.account)
        if acct.available == 0:
            self.free[p].discard(acct.account)
            if record:
                self.truth.record(started, "account_exhausted", p, None, acct.account)
        return job

    def _new_legacy(
        self, created: float, duration: float, outcome: str, rng: random.Random
    ) -> SimJob:
        """A legacy (v1) PixVerse job, not yet scheduled to end."""
        n = self._next_n("legacy")
        job_id = f"j{from_ts(created):%m%d%H%M%S}{n % 1_000_000_000:09d}-pixverse"
        job = SimJob(
            id=job_id,
            provider=LEGACY_PROVIDER,
            account=None,
            kind="video",
            n=n,
            started_ts=created,
            end_ts=created + duration,
            outcome=outcome,
            prompt=names.prompt(rng),
            model="v1",
            started_iso=iso_ms(created),
            legacy=True,
            verb=rng.choice(("pixverse-create", "pixverse-create_single", "pixverse-animate")),
        )
        self.legacy[job_id] = job
        return job

    def start_legacy(
        self, started: float, duration: float, outcome: str, rng: random.Random
    ) -> SimJob:
        """Start a legacy (v1) PixVerse job at `started`, ending after `duration`."""
        job = self._new_legacy(started, duration, outcome, rng)
        if not math.isinf(job.end_ts):
            self._push_end(job)
        self.truth.record(started, "job_started", LEGACY_PROVIDER, job.id, None, legacy=True)
        return job

    def pick_free(self, p: str, rng: random.Random) -> SimAccount | None:
        """A random account of `p` with a free slot, or None when all are busy."""
        free = self.free[p]
        return self.accounts[p][free.choice(rng)] if free else None

    def _push_end(self, job: SimJob) -> None:
        """Schedule `job`'s end at its `end_ts`."""
        self._seq += 1
        heapq.heappush(self._ends, (job.end_ts, self._seq, job.id))

    def finish(self, job: SimJob, t: float, outcome: str) -> None:
        """End a running job at `t` with `outcome`, freeing its slot."""
        job.finished_ts = t
        job.outcome = outcome
        p = job.provider
        if job.legacy:
            self.truth.record(t, "job_finished", p, job.id, None, outcome, legacy=True)
            return
        assert job.account is not None
        acct = self.accounts[p][job.account]
        was_full = acct.available == 0
        del acct.running[job.id]
        if job.kind == "video":
            acct.videos -= 1
        del self.running[p][job.id]
        self.truth.record(t, "job_finished", p, job.id, acct.account, outcome)
        if was_full and acct.available > 0:
            self.free[p].add(acct.account)
            self.truth.record(t, "account_restored", p, None, acct.account)

    def set_max_jobs(self, acct: SimAccount, max_jobs: int, now: float) -> None:
        """Change an account's maxJobs at `now`; running jobs go on."""
        p = acct.provider
        was_free = acct.available > 0
        acct.max_jobs = max_jobs
        if acct.available > 0:
            self.free[p].add(acct.account)
            if not was_free:
                self.truth.record(now, "account_restored", p, None, acct.account)
        else:
            self.free[p].discard(acct.account)
            if was_free:
                self.truth.record(now, "account_exhausted", p, None, acct.account)
