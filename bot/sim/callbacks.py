"""replyUrl callbacks, as useapi sends them: when a job ends, the body of its job endpoint
(`ProviderSpec.status_path`) is POSTed to its replyUrl. Here every callback goes to one
`target` (the bot's receiver): it stands in for each job's replyUrl and the account-level one.

`CallbackSender` listens to the simulator's history, so a job that ends by the churn, by
`finish_job` or by a control call is posted once it ended; `progress(job_id)` posts a running
job's body (MiniMax sends progress until the end). An untracked job (`cancelled`) gets no
callback: useapi stops them when it stops tracking. What was sent, and when, is in `sent`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.sim.model import SimEvent
from bot.sim.providers import SPECS
from bot.sim.render import route

if TYPE_CHECKING:
    from bot.sim.state import Simulator

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sent:
    """One callback: its job, when the POST began (`time.monotonic()`, the clock the fake
    Discord stamps requests with), the answer's status (None: no answer) and the seconds the
    answer took."""

    job_id: str
    provider: str
    at: float
    status: int | None
    seconds: float
    final: bool


class CallbackSender:
    """`async with CallbackSender(sim, target)`: posts the callbacks of `sim`'s jobs to
    `target` while open. `every_job`: all jobs have a replyUrl (set per account), else only
    those started with one (`SimJob.reply_url`)."""

    def __init__(self, sim: Simulator, target: str, *, every_job: bool = True) -> None:
        self.sim = sim
        self.target = target
        self.every_job = every_job
        self.sent: list[Sent] = []
        self._queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    async def __aenter__(self) -> CallbackSender:
        self._loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._task = asyncio.create_task(self._run(), name="sim-callbacks")
        self.sim.history_listeners.append(self._on_event)
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(ValueError):
            self.sim.history_listeners.remove(self._on_event)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    def progress(self, job_id: str) -> None:
        """Post running job `job_id`'s body now, as a progress callback."""
        self._put(job_id, False)

    async def idle(self) -> None:
        """Until every callback queued so far has been posted and answered."""
        await self._idle.wait()

    def _on_event(self, event: SimEvent) -> None:
        if event.kind != "job_finished" or event.legacy or event.job_id is None:
            return
        if event.outcome == "cancelled":  # untracked: useapi stops its callbacks
            return
        job = self.sim.job(event.job_id)
        if job is None or not (self.every_job or job.reply_url):
            return
        self._put(event.job_id, True)

    def _put(self, job_id: str, final: bool) -> None:
        assert self._loop is not None, "not started"
        self._idle.clear()
        # The simulator may be driven from another thread (rig.threadsim).
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (job_id, final))

    def body(self, job_id: str) -> Any:
        """What useapi would post for `job_id`: its job endpoint's body."""
        job = self.sim.job(job_id)
        assert job is not None, job_id
        spec = SPECS[job.provider]
        path, _, query = spec.status_path.format(id=job_id, account=job.account or "").partition(
            "?"
        )
        params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
        reply = route(self.sim, "GET", path.split("/"), params)
        if reply.status != 200:
            # A MiniMax video moderated and removed afterwards (its endpoint answers 404 by
            # now) was posted before it went: its id and outcome, at least.
            return {spec.id_key: job_id, "status": job.outcome}
        return reply.body

    async def _run(self) -> None:
        assert self._session is not None
        while True:
            job_id, final = await self._queue.get()
            job = self.sim.job(job_id)
            provider = job.provider if job is not None else "?"
            started = time.monotonic()
            status: int | None = None
            try:
                async with self._session.post(self.target, json=self.body(job_id)) as answer:
                    status = answer.status
                    await answer.read()
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("callback for %s not delivered: %s", job_id, exc)
            self.sent.append(
                Sent(job_id, provider, started, status, time.monotonic() - started, final)
            )
            if self._queue.empty():
                self._idle.set()
