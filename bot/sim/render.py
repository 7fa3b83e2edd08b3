"""Each provider's documented JSON, rendered from the simulator's state.

`route` hands an authorised request to the provider's handler for its API version (see the
provider's module in `bot.sim.providers`, which documents its bodies and the outcome
representations chosen for it); `error` is useapi's error body in that provider's shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.sim import account
from bot.sim.providers import SPECS, provider_at
from bot.sim.reply import NOT_FOUND, Reply, error_reply

if TYPE_CHECKING:
    from bot.sim.state import Simulator

__all__ = ["NOT_FOUND", "Reply", "error", "route"]


def error(provider: str | None, status: int, message: str | None = None) -> Reply:
    """useapi's error body for `provider` (a generic one for None or an unknown name)."""
    spec = SPECS.get(provider) if provider is not None else None
    return spec.error(status, message) if spec is not None else error_reply(status, message)


def route(sim: Simulator, method: str, segs: list[str], query: dict[str, str]) -> Reply:
    """Answer one authorised request. `segs` are the decoded path segments."""
    answer = account.route(sim, method, segs)
    if answer is not None:
        return answer
    provider = provider_at(segs[1]) if len(segs) >= 3 else None
    if provider is None or provider not in sim.providers:
        return error_reply(404, NOT_FOUND)
    version, rest = segs[0], segs[2:]
    handler = SPECS[provider].routes.get(version)
    if handler is None:
        return error_reply(404, NOT_FOUND)
    return handler(sim, method, rest, query)
