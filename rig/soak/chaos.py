"""The soak's fault schedule: faults switched on upstream (the simulator) and on the fake
Discord for a few rounds at a time, at random and at planned rounds, each counted in the
report under its label."""

from __future__ import annotations

import random
from typing import Any

from bot.sim import Simulator
from bot.sim.faults import Fault as SimFault
from rig.fakediscord import Delay, FakeDiscord
from rig.fakediscord import Fault as DiscordFault
from rig.soak.config import (
    CAPACITY_RE,
    JOB_PATTERN,
    POST_MESSAGE,
    PROVIDERS,
    QUEUE_RE,
    Report,
    SoakConfig,
)

#: Faults every run has at least once, whatever the seed: round -> (where, what). The long
#: mode plays it again every `SCHEDULE_EVERY` rounds.
SCHEDULE: dict[int, tuple[str, str]] = {
    2: ("up", "401 echo"),
    6: ("up", "429"),
    10: ("up", "timeout"),
    14: ("up", "garbage"),
    18: ("up", "5xx"),
    22: ("up", "html"),
    26: ("job", "500"),
    30: ("discord", "429"),
    34: ("discord", "500"),
    38: ("discord", "gateway"),
    42: ("discord", "outage"),
    46: ("discord", "slow"),
    50: ("up", "402"),
    54: ("up", "capacity"),
    58: ("up", "queue"),
    62: ("job", "garbage"),
}
SCHEDULE_EVERY = 120


class Chaos:
    """Faults on and off, round by round (`before_round`); `rng` is the soak's own, so a seed
    gives the same faults at the same moments."""

    def __init__(
        self,
        cfg: SoakConfig,
        sim: Simulator,
        fake: FakeDiscord,
        rng: random.Random,
        report: Report,
        useapi_token: str,
    ) -> None:
        self.cfg = cfg
        self.sim = sim
        self.fake = fake
        self.rng = rng
        self.report = report
        self.useapi_token = useapi_token
        self.sim_faults: list[SimFault] = []
        self.fake_faults: list[DiscordFault] = []
        self.fake_delays: list[Delay] = []
        self._windows: dict[str, tuple[int, list[Any]]] = {}  # name -> (rounds left, undo)
        self._scheduled: set[tuple[int, int]] = set()

    # ------------------------------------------------------------------ single faults
    def upstream(self, pattern: str, kind: str, label: str, **kwargs: Any) -> SimFault:
        """A simulator fault (see `bot.sim.faults`), counted under `label`."""
        f = self.sim.faults.set(pattern, kind, **kwargs)
        self.sim_faults.append(f)
        self.report.faults[label] += 1
        return f

    def slow_post(self, seconds: float, count: int) -> Delay:
        """Discord answers the next `count` alert posts `seconds` late."""
        d = self.fake.delay(POST_MESSAGE, seconds, count=count)
        self.fake_delays.append(d)
        self.report.faults["discord slow answer"] += 1
        return d

    def hits(self) -> int:
        """How many requests the faults answered (or held)."""
        return (
            sum(f.hits for f in self.sim_faults)
            + sum(f.hits for f in self.fake_faults)
            + sum(d.hits for d in self.fake_delays)
        )

    # ------------------------------------------------------------------ windows
    def _window(self, name: str, rounds: int, undo: list[Any]) -> None:
        self._windows[name] = (rounds, undo)

    def _close_window(self, name: str) -> None:
        _, undo = self._windows.pop(name)
        for item in undo:
            if isinstance(item, SimFault):
                self.sim.faults.remove(item.id)
            elif item in self.fake.faults:
                self.fake.faults.remove(item)
            elif item in self.fake.delays:
                self.fake.delays.remove(item)

    def clear(self) -> None:
        """Every fault off (the drain)."""
        for name in list(self._windows):
            self._close_window(name)
        self.sim.faults.clear()
        self.fake.clear_faults()

    async def before_round(self, round_no: int) -> None:
        """Switch faults on and off for the coming round."""
        for name in list(self._windows):
            left, undo = self._windows[name]
            if left <= 1:
                self._close_window(name)
            else:
                self._windows[name] = (left - 1, undo)
        rng = self.rng
        cycle, at = (0, round_no) if self.cfg.minutes is None else divmod(round_no, SCHEDULE_EVERY)
        # every planned fault whose round has come (a mid-delivery stop runs rounds itself)
        due = [k for k in sorted(SCHEDULE) if k <= at and (cycle, k) not in self._scheduled]
        for k in due:
            self._scheduled.add((cycle, k))
            where, what = SCHEDULE[k]
            p = PROVIDERS[rng.randrange(3)]
            name = "discord" if where == "discord" else f"{where}:{p}"
            if name in self._windows:
                self._close_window(name)
            if where == "up":
                self._upstream(p, what)
            elif where == "job":
                self._job_fault(p, what)
            else:
                await self._discord(what)
        for p in PROVIDERS:
            if f"up:{p}" not in self._windows and rng.random() < self.cfg.upstream_rate:
                self._upstream(
                    p,
                    rng.choice(
                        (
                            "5xx",
                            "429",
                            "401",
                            "402",
                            "garbage",
                            "html",
                            "timeout",
                            "queue",
                            "capacity",
                            "5xx",
                        )
                    ),
                )
            if f"job:{p}" not in self._windows and rng.random() < self.cfg.upstream_rate:
                self._job_fault(p, rng.choice(("500", "429", "401", "garbage", "html")))
        if "discord" not in self._windows and rng.random() < self.cfg.discord_rate:
            await self._discord(
                rng.choice(("429", "429", "500", "slow", "slow", "outage", "gateway"))
            )

    # ------------------------------------------------------------------ the kinds
    def _upstream(self, p: str, choice: str) -> None:
        """A provider-wide (or queue-only / capacity-only) upstream fault for a few rounds."""
        rng, heavy = self.rng, self.cfg.heavy_faults
        rounds = rng.randint(1, 4)
        if choice == "5xx":
            status = rng.choice((500, 502, 503))
            f = self.upstream(p, "status", f"upstream {status}", status=status)
            rounds = rng.randint(3, 5)  # long enough to be announced as unreachable
        elif choice == "429":
            f = self.upstream(p, "status", "upstream 429", status=429)
        elif choice in ("401", "402", "401 echo"):
            status = int(choice[:3])
            body = (
                {"error": f"token {self.useapi_token} is not valid", "code": 401}
                if choice == "401 echo"
                else None
            )
            label = "upstream 401 (echoing the token)" if body else f"upstream {status}"
            f = self.upstream(p, "status", label, status=status, body=body)
            rounds = rng.randint(3, 5)
        elif choice == "garbage":
            f = self.upstream(p, "garbage", "upstream garbage body")
        elif choice == "html":
            f = self.upstream(p, "html", "upstream html page", status=502)
        elif choice == "timeout":
            # heavy: longer than the client's 10 s timeout, so the client gives up itself
            f = self.upstream(
                p,
                "timeout",
                "upstream timeout",
                seconds=11.0 if heavy else 0.05,
                probability=0.3 if heavy else 0.5,
            )
            rounds = 1 if heavy else rng.randint(1, 2)
        elif choice == "queue":
            f = self.upstream(
                QUEUE_RE[p].pattern, "status", "upstream queue 503", status=503, probability=0.5
            )
        else:
            f = self.upstream(
                CAPACITY_RE[p].pattern,
                "status",
                "upstream capacity 500",
                status=500,
                probability=0.5,
            )
        self._window(f"up:{p}", rounds, [f])

    def _job_fault(self, p: str, kind: str) -> None:
        """Job lookups failing now and then: jobs wait in `pending` and are resolved later."""
        rng = self.rng
        prob = rng.uniform(0.3, 0.8)
        if kind in ("garbage", "html"):
            f = self.upstream(JOB_PATTERN[p], kind, f"upstream job {kind}", probability=prob)
        else:
            f = self.upstream(
                JOB_PATTERN[p], "status", f"upstream job {kind}", status=int(kind), probability=prob
            )
        self._window(f"job:{p}", rng.randint(1, 5), [f])

    async def _discord(self, choice: str) -> None:
        rng, heavy = self.rng, self.cfg.heavy_faults
        undo: list[Any] = []
        rounds = rng.randint(1, 3)
        if choice == "429":
            f = self.fake.fail(
                POST_MESSAGE, 429, count=rng.randint(1, 3), retry_after=rng.uniform(0.05, 0.3)
            )
            self.report.faults["discord 429"] += 1
            undo.append(f)
        elif choice == "500":
            # discord.py retries a 5xx itself, sleeping 1 s, 3 s, …; five in a row make it
            # give up (the outbox retries later): only in the long mode.
            f = self.fake.fail(POST_MESSAGE, 500, count=5 if heavy else 1)
            self.report.faults["discord 500"] += 1
            undo.append(f)
        elif choice == "slow":
            undo.append(self.slow_post(rng.uniform(0.1, 0.5), rng.randint(1, 4)))
        elif choice == "outage":  # long enough for discord.py to give up: outbox back-off
            f = self.fake.fail(POST_MESSAGE, 429, count=None, retry_after=0.02)
            self.report.faults["discord 429 outage"] += 1
            undo.append(f)
            rounds = rng.randint(1, 4)
        else:
            if self.fake.connected:
                await self.fake.drop_gateway()
                self.report.faults["discord gateway dropped"] += 1
            rounds = 1
        self.fake_faults += [f for f in undo if isinstance(f, DiscordFault)]
        self._window("discord", rounds, undo)
