"""A useapi.net simulator: PixVerse, MiniMax, Dreamina and Mureka, a churning seeded population.

Powers `opsbot simulate`, `opsbot demo`, the tests and the benchmarks::

    sim = Simulator(seed=1, accounts=30, jobs=60, token="sim-token", clock=ManualClock())
    async with SimServer(sim) as server:      # server.url == "http://127.0.0.1:<port>"
        ...
        sim.advance(300)                      # jobs finish, new ones start, sim.history grows
        sim.faults.set("pixverse", "status", status=429, count=2)

Where things are:

=====================  ======================================================================
`state`                `Simulator`: time, views, pins, the request log
`direct`               its direct control: start and finish jobs, fill and free accounts
`population`           the accounts and jobs, their churn and capacity
`draws`, `history`     what a new job is drawn to be; the ground truth (`sim.history`)
`model`                `SimJob`, `SimAccount`, `SimEvent`, `SimRequest`, `Pin`
`providers/<name>`     one provider's part: its accounts and ids, its API and bodies
`render`, `reply`      a request to its provider's handler; the answer and shared helpers
`faults`, `hostile`    fault switches, and the hostile bodies some of them send
`server`, `control`    HTTP (aiohttp), and the `/_sim` control API
`clock`, `names`       time and timestamp formats; fake names and prompts
=====================  ======================================================================

A new provider's simulator part is one module in `bot/sim/providers/` and one entry in its
`SPECS` (see `bot.sim.providers.base`).
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
