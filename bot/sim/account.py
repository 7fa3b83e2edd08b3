"""useapi's own account in the simulator: `GET /v2/account`, the subscription and, per enabled
provider, how many accounts are configured, active and in error (from the population)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.sim.providers import SPECS
from bot.sim.reply import NOT_FOUND, Reply, error_reply, method_ok

if TYPE_CHECKING:
    from bot.sim.state import Simulator

PATH = ("v2", "account")


def account_body(sim: Simulator) -> dict[str, Any]:
    """The documented shape: `{id, email, subscriptionIsActive, subscriptions,
    maxAccountsPerAPI, accounts: {"MiniMax API": {total, active, error}}, sub}`."""
    accounts: dict[str, dict[str, int]] = {}
    for p in sim.providers:
        every = list(sim.iter_accounts(p))
        broken = sum(1 for a in every if a.error is not None)
        accounts[SPECS[p].account_title] = {
            "total": len(every),
            "active": len(every) - broken,
            "error": broken,
        }
    return {
        "id": f"user:{sim.uid}",
        "email": "team@example.com",
        "subscriptionIsActive": sim.subscription_active,
        "subscriptions": [{"name": "Monthly", "active": sim.subscription_active}],
        "maxAccountsPerAPI": 50,
        "accounts": accounts,
        "sub": "261231",
    }


def route(sim: Simulator, method: str, segs: list[str]) -> Reply | None:
    """The answer when `segs` is `/v2/account`, else None."""
    if tuple(segs) != PATH:
        return None
    if not method_ok(method, "GET"):
        return error_reply(404, NOT_FOUND)
    return Reply(200, account_body(sim))
