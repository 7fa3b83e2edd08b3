"""What a soak is told (`SoakConfig`), what it records of each bot process it runs
(`Incarnation`), and what it reports (`Report`, `SoakResult`); the upstream paths it tells
apart in the simulator's request log."""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from rig.soak.run import Soak

PROVIDERS = ("pixverse", "minimax", "dreamina")
POST_MESSAGE = r"^POST /channels/\d+/messages$"

#: Scheduler (queue) and capacity paths per provider, as the adapters call them.
QUEUE_RE = {
    "pixverse": re.compile(r"^/v2/pixverse/scheduler/?$"),
    "minimax": re.compile(r"^/v1/minimax/scheduler/?$"),
    "dreamina": re.compile(r"^/v1/dreamina/scheduler/?$"),
}
CAPACITY_RE = {
    "pixverse": re.compile(r"^/v2/pixverse/scheduler/available/?$"),
    "minimax": re.compile(r"^/v1/minimax/(scheduler/available|accounts)/?$"),
    "dreamina": re.compile(r"^/v1/dreamina/accounts/?$"),
}
#: One job's lookup per provider (fault patterns; searched in the raw request path).
JOB_PATTERN = {
    "pixverse": r"^/v2/pixverse/videos/",
    "minimax": r"^/v1/minimax/(videos|images)/",
    "dreamina": r"^/v1/dreamina/videos/",
}


#: How the report names a backend.
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


class SoakError(AssertionError):
    """The soak could not do what it set out to (a deadline passed, the bot died)."""


#: The faults every soak run plans at least once (its report counts each by this label); the
#: soak tests check each was injected.
PLANNED_FAULTS: Final = (
    "upstream 401 (echoing the token)",
    "upstream 429",
    "upstream timeout",
    "upstream garbage body",
    "upstream html page",
    "upstream 402",
    "upstream capacity 500",
    "upstream queue 503",
    "upstream job 500",
    "upstream job garbage",
    "discord 429",
    "discord 500",
    "discord slow answer",
    "discord 429 outage",
    "discord gateway dropped",
)


@dataclass
class SoakConfig:
    seed: int = 1
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="opsbot-soak-")))
    #: The database the bot runs on throughout (an empty one); None: a SQLite file in `workdir`.
    database_url: str | None = None
    #: In-process rounds (CI). With `minutes`, rounds run until that much wall time is used.
    rounds: int = 100
    minutes: float | None = None
    accounts: int = 24
    jobs: int = 150
    step: tuple[float, float] = (30.0, 60.0)
    #: SIGKILLs of the `python -m bot run` subprocess (at least two).
    kills: int = 2
    #: In-process hard stops (spread over the rounds; long mode: about one per `restart_every`
    #: seconds of wall time).
    restarts: int = 8
    restart_every: float = 20.0
    #: stamina's test mode in-process (same attempts, no backoff sleeps): the ManualClock of
    #: the round-driven phase already compresses time, and real backoffs would not fit CI.
    fast_retries: bool = True
    #: Longer, slower faults (real client timeouts, Discord 5xx outages): the long mode.
    heavy_faults: bool = False
    #: Upstream / Discord fault rates per round.
    upstream_rate: float = 0.035
    discord_rate: float = 0.05
    stuck_after_minutes: float = 20.0
    subprocess_log_level: str = "DEBUG"
    verbose: bool = False
    #: Called with one progress line now and then (long mode).
    progress: Callable[[str], None] | None = None


@dataclass
class Incarnation:
    index: int
    kind: str  # "subprocess" | "inprocess"
    first_request: int  # index into Soak.log
    clean_end: bool = False  # stopped with no tick in flight
    how: str = ""  # how it ended


@dataclass
class Report:
    seed: int
    backend: str = "sqlite"  # the database's dialect: "sqlite" or "postgresql"
    jobs_finished: int = 0  # simulator jobs that finished (non-legacy)
    jobs_seen: int = 0  # ... of which a committed scheduler read showed running
    expected: int = 0  # job alerts the bot must have posted (outcomes + stuck)
    expected_outcomes: int = 0
    expected_stuck: int = 0
    delivered: int = 0  # distinct job alerts Discord received
    delivered_total: int = 0  # distinct alerts of any kind
    duplicated: int = 0  # extra copies of any alert
    lost: int = 0  # expected job alerts never delivered
    invented: int = 0  # delivered alerts without a matching truth
    unexpected_ok: int = 0  # delivered, true, but not required (seen only by a read
    #                                 that may not have been committed)
    capacity_exhausted: int = 0
    capacity_restored: int = 0
    capacity_required: int = 0  # lower bound from the damped truth
    capacity_lost: int = 0
    upstream_alerts: int = 0
    messages: int = 0  # alert messages Discord holds
    summarised: int = 0  # ... of which summaries (ids matched through the nonce)
    nonce_repeats: int = 0  # POSTs Discord answered with an earlier message
    restarts: int = 0
    kills: int = 0  # SIGKILLs of the subprocess
    hard_stops: int = 0  # in-process stops at a random moment
    rounds: int = 0
    ticks_ok: int = 0  # committed snapshots (all providers)
    faults: Counter[str] = field(default_factory=Counter)
    fault_hits: int = 0
    seconds: float = 0.0
    subprocess_seconds: float = 0.0
    drain_rounds: int = 0
    sim_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()))
        return [
            f"soak seed {self.seed} on {BACKEND_NAMES.get(self.backend, self.backend)}: "
            f"{self.seconds:.1f} s wall ({self.subprocess_seconds:.1f} s "
            f"of it with the bot as a subprocess), {self.sim_seconds / 3600:.1f} h simulated, "
            f"{self.rounds} rounds ({self.drain_rounds} to drain), {self.ticks_ok} committed "
            f"in-process snapshots",
            f"  jobs finished {self.jobs_finished}, seen running {self.jobs_seen}",
            f"  job alerts: expected {self.expected} ({self.expected_outcomes} outcomes + "
            f"{self.expected_stuck} stuck), delivered {self.delivered}, duplicated "
            f"{self.duplicated}, lost {self.lost}, invented {self.invented}, "
            f"true-but-optional {self.unexpected_ok}",
            f"  capacity: {self.capacity_exhausted} exhausted / {self.capacity_restored} "
            f"restored (at least {self.capacity_required} required, {self.capacity_lost} lost); "
            f"upstream alerts "
            f"{self.upstream_alerts}",
            f"  messages {self.messages} ({self.summarised} summaries), nonce repeats dropped "
            f"by Discord {self.nonce_repeats}",
            f"  restarts {self.restarts} ({self.kills} SIGKILL, {self.hard_stops} in-process "
            f"hard stops), faults injected "
            f"{self.faults_injected} ({kinds}); fault hits "
            f"{self.fault_hits}",
            *(f"  NOTE: {n}" for n in self.notes[:10]),
            *(f"  PROBLEM: {p}" for p in self.problems[:40]),
            *([f"  … {len(self.problems) - 40} more problems"] if len(self.problems) > 40 else []),
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines())


@dataclass
class SoakResult:
    report: Report
    discord_token: str
    useapi_token: str
    database_url: str  # what the bot ran on
    db_path: Path  # the SQLite file of a soak on SQLite (none there on PostgreSQL)
    workdir: Path
    subprocess_output: list[Path]
    log_text: str  # in-process logging, every record rendered
    errors: list[str]  # exception texts the bot recorded (health, watcher)
    request_bodies: list[str]  # every body the fake Discord received, as text
    settings_text: list[str]  # repr/str of the settings used
    emails: list[str]  # every simulator account e-mail
    engine: Soak  # for re-running `analyse` (tests of the checker)
