"""A useapi.net simulator: PixVerse, MiniMax and Dreamina with a churning seeded population.

Powers `opsbot simulate`, `opsbot demo`, the tests and the benchmarks::

    sim = Simulator(seed=1, accounts=30, jobs=60, token="sim-token", clock=ManualClock())
    async with SimServer(sim) as server:      # server.url == "http://127.0.0.1:<port>"
        ...
        sim.advance(300)                      # jobs finish, new ones start, sim.history grows
        sim.faults.set("pixverse", "status", status=429, count=2)

See `bot.sim.state` (model, churn, ground truth), `bot.sim.render` (payloads and the outcome
representations chosen per provider), `bot.sim.faults` and `bot.sim.server` (HTTP and the
`/_sim/` control API).
"""

from bot.sim.clock import ManualClock, format_elapsed, iso_ms, utc_now
from bot.sim.faults import FAULT_KINDS, Fault, Faults
from bot.sim.server import SimServer, serve
from bot.sim.state import (
    OUTCOMES,
    PROVIDERS,
    CapacityError,
    Pin,
    SimAccount,
    SimEvent,
    SimJob,
    SimRequest,
    Simulator,
)

__all__ = [
    "FAULT_KINDS",
    "OUTCOMES",
    "PROVIDERS",
    "CapacityError",
    "Fault",
    "Faults",
    "ManualClock",
    "Pin",
    "SimAccount",
    "SimEvent",
    "SimJob",
    "SimRequest",
    "SimServer",
    "Simulator",
    "format_elapsed",
    "iso_ms",
    "serve",
    "utc_now",
]
