"""What an endpoint answers, and the helpers every provider's routes share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.sim.model import SimJob
from bot.sim.reasons import reason_for

if TYPE_CHECKING:
    from bot.sim.state import Simulator

NOT_FOUND = "Not found"


@dataclass(slots=True)
class Reply:
    """What to answer: a JSON value, or bytes/str sent verbatim with `content_type`."""

    status: int
    body: Any = None
    content_type: str = "application/json"


def error_reply(status: int, message: str | None = None, *, code: bool = True) -> Reply:
    """useapi's error body, `{"error", "code"}`; without `code` where a provider leaves it out."""
    body: dict[str, Any] = {"error": message if message is not None else reason_for(status)}
    if code:
        body["code"] = status
    return Reply(status, body)


def method_ok(method: str, *allowed: str) -> bool:
    """`method` is one of `allowed` (HEAD goes wherever GET does)."""
    return method in allowed or (method == "HEAD" and "GET" in allowed)


def job_for(sim: Simulator, provider: str, job_id: str) -> SimJob | None:
    """The job of that id on `provider`'s current API (legacy jobs have their own)."""
    job = sim.job(job_id)
    if job is None or job.provider != provider or job.legacy:
        return None
    return job


def delete_job(sim: Simulator, provider: str, job_id: str, *, code: bool = True) -> Reply:
    """`DELETE …/scheduler/{id}`: stop tracking a running job (`Simulator.untrack`: it ends
    `cancelled`); 204, or 404 "Unable to locate running <id>" when none runs (`code=False`
    where the provider's error body has no `code`, as MiniMax's)."""
    if sim.untrack(provider, job_id) is None:
        return error_reply(404, f"Unable to locate running {job_id}", code=code)
    return Reply(204)
