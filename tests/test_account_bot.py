"""The account checks in the real bot (cogs.health, started as `opsbot run` starts it) against
the simulator and the fake Discord: each alert posted once, through the outbox, not again
after a restart; kind `account` routed and muted with /alerts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bot.accounts.check import AccountChecker
from bot.sim import Simulator
from rig.botharness import Harness, make_sim, settled
from rig.fakediscord import ADMIN_PERMISSIONS
from rig.received import alerts

ERROR = "pending error, re-add the account"


def far_sessions(sim: Simulator) -> Simulator:
    """Sessions a month from now on the bot's clock (the simulator's is a ManualClock)."""
    for p in sim.providers:
        for a in sim.accounts(p):
            sim.set_account_expiry(p, a.account, time.time() + 30 * 86_400)
    return sim


async def manual(h: Harness) -> AccountChecker:
    """Stop the check loop once its start-up check is over: from then on the test checks."""
    # (load_extension imports cogs.health afresh: no isinstance against this module's class)
    cog = h.bot.get_cog("Account health")
    checker = h.bot.account_checker
    assert cog is not None and checker is not None
    cog.loop.cancel()  # type: ignore[attr-defined]
    async with checker._lock:
        pass
    return checker


async def check(h: Harness, checker: AccountChecker, times: int = 1) -> None:
    for _ in range(times):
        report = await checker.check()
        assert report.error is None and report.failures == ()
    await h.deliver()


def titles(h: Harness) -> list[str]:
    return [title for title, _, _ in alerts(h.fake)]


async def test_account_alerts_once_each_and_not_again_after_a_restart(
    start_bot: Any, tmp_path: Path
) -> None:
    sim = far_sessions(make_sim())
    db = tmp_path / "accounts.db"
    broken = sim.accounts("pixverse")[0].account
    h = await start_bot(sim=sim, db=db, account_checks=True)
    checker = await manual(h)
    assert titles(h) == []  # all well at start-up: nothing said
    sim.set_account_error("pixverse", broken, ERROR)
    await check(h, checker)
    assert titles(h) == []  # once is a flap
    await check(h, checker, times=2)
    assert titles(h) == [f"PixVerse account error · {broken}"]
    [(_, description, _)] = alerts(h.fake)
    assert ERROR in description
    await h.stop()
    h = await start_bot(sim=sim, db=db, account_checks=True)  # restarted: same database
    checker = await manual(h)
    await check(h, checker)
    assert titles(h) == [f"PixVerse account error · {broken}"]  # not posted again
    sim.set_account_error("pixverse", broken, None)
    await check(h, checker, times=3)
    assert titles(h) == [
        f"PixVerse account error · {broken}",
        f"PixVerse account ok · {broken}",
    ]
    assert await settled(h) == {"sent": 2}


async def test_kind_account_is_routed_and_muted_with_alerts(start_bot: Any) -> None:
    sim = far_sessions(make_sim())
    h = await start_bot(sim=sim, account_checks=True)
    checker = await manual(h)
    other = h.fake.channel_ids[1]
    for sub, options in (
        ("route", {"kind": "account", "channel": other}),
        ("mute", {"kind": "account", "provider": "pixverse", "duration": "2h"}),
    ):
        inter = await h.fake.invoke(
            "alerts", options, subcommand=sub, permissions=ADMIN_PERMISSIONS
        )
        body = await h.fake.wait_for_interaction_response(inter)
        assert body["type"] == 4
        await asyncio.sleep(0)
    routes = await h.bot.store.routes()
    assert [(r.kind.value, r.provider, r.channel_id) for r in routes] == [("account", None, other)]
    sim.set_subscription(False)
    sim.set_account_error("pixverse", sim.accounts("pixverse")[0].account, ERROR)
    await check(h, checker, times=2)
    assert [t for t, _, _ in alerts(h.fake, other)] == ["useapi subscription inactive"]
    assert alerts(h.fake, h.fake.channel_ids[0]) == []
    assert await settled(h) == {"sent": 1, "muted": 1}
