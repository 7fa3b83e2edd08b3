"""The ground truth the soak's checks compare with: which reads the bot made and which it
must have committed (`groups`), when each account was full (`full_timeline`, and the
simulator's own history), and the least a damped announcement must show (`runs`,
`required_transitions`)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.sim import SimRequest, Simulator
from rig.fakediscord import FakeDiscord
from rig.soak.config import CAPACITY_RE, PROVIDERS, QUEUE_RE, Incarnation, SoakConfig

#: Per account: the times its fullness changed, and whether it is full from each on.
Timeline = tuple[list[datetime], list[bool]]


class Observed(Protocol):
    """What a soak run leaves for the analysis to read."""

    cfg: SoakConfig
    sim: Simulator
    fake: FakeDiscord
    #: Every request the simulator answered, tagged with the incarnation that made it.
    log: list[tuple[int, SimRequest]]
    incs: list[Incarnation]
    initial_full: dict[tuple[str, str], bool]
    #: Every outbox row at the end of the run, as a dict per row (in id order), and how many
    #: jobs still awaited their outcome then: read from the database once the bot stopped.
    outbox_rows: list[dict[str, Any]]
    pending_left: int

    @property
    def alert_channel(self) -> int: ...


@dataclass(frozen=True)
class Group:
    """One scheduler+capacity read pair of one provider by one incarnation."""

    inc: int
    provider: str
    t: datetime
    q_ok: bool
    c_ok: bool
    first_pos: int  # position of its queue read in the log

    @property
    def ok(self) -> bool:
        return self.q_ok and self.c_ok


Groups = dict[str, list[tuple[Group, bool]]]


def groups(soak: Observed) -> Groups:
    """Per provider, every read group in log order with whether it is known committed.

    A group is known committed when its tick finished within the same incarnation (the
    provider's next scheduler read came from the same process: ticks of one provider never
    overlap), or the incarnation stopped with no tick in flight."""
    raw: dict[tuple[int, str, datetime], dict[str, Any]] = {}
    q_positions: dict[tuple[int, str], list[int]] = defaultdict(list)
    for pos, (inc, e) in enumerate(soak.log):
        if inc < 0 or e.method != "GET":
            continue
        for p in PROVIDERS:
            is_q = QUEUE_RE[p].match(e.path) is not None
            is_c = not is_q and CAPACITY_RE[p].match(e.path) is not None
            if not (is_q or is_c):
                continue
            ok = e.status == 200 and e.fault is None
            g = raw.setdefault((inc, p, e.t), {"q": False, "c": False, "pos": None})
            if is_q:
                g["q"] = g["q"] or ok
                if g["pos"] is None:
                    g["pos"] = pos
                q_positions[(inc, p)].append(pos)
            else:
                g["c"] = g["c"] or ok
            break
    clean = {i.index: i.clean_end for i in soak.incs}
    out: Groups = {p: [] for p in PROVIDERS}
    for (inc, p, t), g in raw.items():
        if g["pos"] is None:
            continue
        group = Group(inc, p, t, g["q"], g["c"], g["pos"])
        later = any(pos > g["pos"] and soak.log[pos][1].t > t for pos in q_positions[(inc, p)])
        out[p].append((group, later or clean.get(inc, False)))
    for p in PROVIDERS:
        out[p].sort(key=lambda item: item[0].first_pos)
    return out


def full_timeline(soak: Observed, jobs: list[Any]) -> dict[tuple[str, str], Timeline]:
    """Per account: change times and whether it is full from each of them on, as useapi
    shows it: running jobs (MiniMax: running *video* jobs, which is what its capacity
    counts) against maxJobs. The simulator's own account_exhausted/account_restored history
    counts every job; for PixVerse and Dreamina it is checked to agree (see `analyse`)."""
    t0 = soak.sim.t0.timestamp()
    deltas: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    for job in jobs:
        if job.account is None or (job.provider == "minimax" and job.kind != "video"):
            continue
        deltas[(job.provider, job.account)].append((max(job.started_ts, t0), 1))
        if job.finished_ts is not None:
            deltas[(job.provider, job.account)].append((job.finished_ts, -1))
    lines: dict[tuple[str, str], Timeline] = {}
    for p in PROVIDERS:
        for acct in soak.sim.accounts(p):
            times, values = [soak.sim.t0], [False]
            n = 0
            changes = sorted(deltas[(p, acct.account)])
            i = 0
            while i < len(changes):
                t = changes[i][0]
                while i < len(changes) and changes[i][0] == t:
                    n += changes[i][1]
                    i += 1
                full = n >= acct.max_jobs
                if full != values[-1]:
                    times.append(datetime.fromtimestamp(t, UTC))
                    values.append(full)
            lines[(p, acct.account)] = (times, values)
    return lines


def history_timeline(soak: Observed) -> dict[tuple[str, str], Timeline]:
    """The same from the simulator's account_exhausted / account_restored events."""
    t0 = soak.sim.t0
    lines: dict[tuple[str, str], Timeline] = {
        key: ([t0], [full]) for key, full in soak.initial_full.items()
    }
    for ev in soak.sim.history:
        if ev.kind not in ("account_exhausted", "account_restored") or ev.account is None:
            continue
        times, values = lines.setdefault((ev.provider, ev.account), ([t0], [False]))
        times.append(ev.t)
        values.append(ev.kind == "account_exhausted")
    return lines


def full_at(line: Timeline, t: datetime) -> bool:
    times, values = line
    i = bisect_right(times, t) - 1
    return values[max(i, 0)]


def runs(values: list[tuple[bool, bool]]) -> list[tuple[bool, int, int]]:
    """(value, reads, known-committed reads) of each maximal run of equal values."""
    out: list[tuple[bool, int, int]] = []
    for value, safe in values:
        if out and out[-1][0] == value:
            v, n, s = out[-1]
            out[-1] = (v, n + 1, s + int(safe))
        else:
            out.append((value, 1, int(safe)))
    return out


def required_transitions(periods: list[tuple[bool, int, int]]) -> tuple[int, int, bool | None]:
    """From the damped truth (a value is announced once two committed reads in a row show
    it), over the `runs` of the values read: the fewest exhausted and restored
    announcements, and the final announced state (None when the last settled run does not
    decide it)."""
    announced = False
    exhausted = restored = 0
    final: bool | None = False
    for value, _, safe in periods:
        if safe < 2:
            final = None if value != announced else final
            continue
        if value and not announced:
            exhausted += 1
        elif not value and announced:
            restored += 1
        announced = value
        final = value
    return exhausted, restored, final


def shown(times: list[float], start: float, end: float) -> bool:
    """Whether any read time t (sorted) has start <= t < end."""
    i = bisect_left(times, start)
    return i < len(times) and times[i] < end
