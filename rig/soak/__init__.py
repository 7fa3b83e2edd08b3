"""The chaos soak: the real bot against the simulator and the fake Discord, under faults and
restarts, and a strict comparison of what Discord received with the simulator's ground truth.

Shared by `tests/test_soak.py` (the CI run, well under 90 s) and `bench/soak.py` (`--minutes N`).

The run, on one SQLite database throughout (`run.py` drives it):

1. **Subprocess phase** (`kills.py`) – `python -m bot run` (real time, POLL_INTERVAL_SECONDS=5)
   is started and SIGKILLed `kills` times: the first kill lands while an alert POST is in
   flight (the fake Discord holds it), the next ones while a scheduler request is in flight
   (mid-tick). Meanwhile the simulator's ManualClock is moved on in quiet moments (no request
   in flight) so each real tick sees ~50 simulated seconds of churn.
2. **In-process phase** – the bot is started with `bot.app.serve` (the `opsbot run` path) in
   this process, its clock tied to the simulator's, and its provider ticks driven one round at a
   time (30–60 simulated seconds per round, no waiting for the 5 s poll interval). Random
   faults (`chaos.py`) switch on and off upstream (429, 5xx, timeouts, garbage and HTML bodies,
   401/402 for a while, job lookups failing) and on the fake Discord (429 with retry_after,
   500, slow answers, dropped gateway, a 429 outage long enough for the outbox to back off),
   and the bot is hard-stopped at random moments (between ticks, mid-tick, mid-delivery) and
   restarted.
3. **Drain** – faults off, clean rounds until the outbox and the pending jobs are empty.
4. **Analysis** (`analysis.analyse`) – see its docstring: expected vs delivered, duplicates,
   lost, invented, capacity and upstream episode order.

Every wait has a deadline; nothing sleeps in the hope that something happened.
"""

from rig.soak.analysis import analyse
from rig.soak.config import Report, SoakConfig, SoakError, SoakResult
from rig.soak.run import CI_SEED, Soak, ci_result, run_soak

__all__ = [
    "CI_SEED",
    "Report",
    "Soak",
    "SoakConfig",
    "SoakError",
    "SoakResult",
    "analyse",
    "ci_result",
    "run_soak",
]
