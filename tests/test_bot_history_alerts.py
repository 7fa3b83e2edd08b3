"""The history-based alerts end to end: simulator ⇄ the real bot ⇄ fake Discord, on loopback.
One account whose jobs fail says `failure rate high` (naming the reason upstream gave), once,
and `failure rate normal` after enough good jobs; a job past its model's learned limit is
stuck, and the alert says which limit."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.history import Finished
from rig.botharness import command, cycle, make_sim, settled
from rig.received import JSON, POSTS, alerts, count

INF = math.inf


def stamp(embed: JSON) -> int:
    """The alert's time as its `<t:…>` markers show it: the embed's own timestamp."""
    return int(datetime.fromisoformat(embed["timestamp"]).timestamp())


async def test_one_failing_account_alerts_once_then_normal(start_bot):
    sim = make_sim(max_jobs=20)
    h = await start_bot(sim=sim, providers=["pixverse"], failure_rate_alert=50)
    bad, good = (a.account for a in sim.accounts("pixverse")[:2])

    async def run(account: str, outcomes: list[str]) -> None:
        jobs = [sim.start_job("pixverse", account, duration=INF) for _ in outcomes]
        await cycle(h)
        for job, outcome in zip(jobs, outcomes, strict=True):
            sim.finish_job(job, outcome)
        await cycle(h, ticks=4)  # resolved, recorded, read, held two ticks

    await run(good, ["completed"] * 10)
    # 9 of the account's: too few; the provider's 9 of 19 (47 %): under 50 %
    await run(bad, ["failed"] * 6 + ["moderated"] * 3)
    assert count(h.fake, "failure rate high") == 0
    await run(bad, ["failed"])  # the 10th
    await settled(h)
    # the account (10 of 10), and the provider (10 of its 20: exactly 50 %)
    assert count(h.fake, "failure rate high", bad) == 1
    assert count(h.fake, "failure rate high") == 2
    [(title, text, _)] = [a for a in alerts(h.fake) if a[0].endswith(f"failure rate high · {bad}")]
    assert title == f"PixVerse account failure rate high · {bad}"
    # upstream's reasons as the job endpoint gave them (PixVerse: its errCode), the most
    # frequent first, three at most
    line = text.splitlines()[1]
    head = "10 of 10 recent jobs failed or were moderated (100 %): 7 failed, 3 moderated. "
    assert line.startswith(head + "Top reasons: ") and "3× moderated" in line
    assert re.fullmatch(r"(\d+× [^;]+)(; \d+× [^;]+){2}", line.removeprefix(head + "Top reasons: "))
    await cycle(h, ticks=3)
    assert count(h.fake, "failure rate high") == 2  # said once
    await run(bad, ["completed"] * 20)
    await settled(h)
    assert count(h.fake, "failure rate normal", bad) == 1
    assert count(h.fake, "failure rate normal") == 2


async def test_stuck_after_the_learned_limit_says_so(start_bot):
    """Dreamina's queue names each running job's model (PixVerse's, MiniMax's do not: their
    jobs keep the ceiling)."""
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["dreamina"])
    job = sim.start_job("dreamina", duration=INF, elapsed=7 * 60)
    model = sim.job(job).model  # type: ignore[union-attr]
    now = datetime.now(UTC)
    history = [
        Finished("dreamina", f"old{i}", "a", "video", model, "completed", 200.0, "poll", now)
        for i in range(20)
    ]
    await h.bot.store.enqueue([], batch="seed", now=now, finished=history)
    [cog] = h.provider_cogs()
    # learned now, not at the next 10-minute mark (the cadence is not what this test is about)
    await cog.watcher.stuck_limits.learn(h.bot.store, [model], now)
    await cycle(h)
    await settled(h)
    assert count(h.fake, "stuck", job) == 1
    [(_, _, message)] = [a for a in alerts(h.fake) if job in a[1]]
    [embed] = message["embeds"]
    account = sim.job(job).account  # type: ignore[union-attr]
    at = stamp(embed)
    # the whole embed a user sees; 2 × 3m 20s = 6m 40s, past the 5-minute floor and under the
    # 20-minute ceiling, and the line after the elapsed time says which limit applied
    assert embed == {
        "type": "rich",
        "title": "Dreamina job stuck",
        "description": f"**Job** {job}\n"
        f"**Account** {account}\n"
        f"running for 7m 00s; {model} usually finishes within 3m 20s\n"
        "**kind** video\n"
        f"**model** {model}\n"
        f"**When** <t:{at}:f> (<t:{at}:R>)",
        "color": 0xF0B232,
        "timestamp": embed["timestamp"],
        "footer": {"text": "job alert"},
        "flags": 0,
    }
    # /queue marks it by the same limit (7 minutes is far under STUCK_AFTER_MINUTES)
    body = await command(h, "queue", {"provider": "dreamina"})
    queue = body["data"]["embeds"][0]
    assert queue["title"] == "Queue — 1 running, 1 stuck"


async def test_failure_rate_embed_whole_upstream_reasons_escaped_bounded_no_pings(start_bot):
    """The failure-rate alert as a user sees it, upstream's reasons hostile: markdown, a
    mention, a masked link, a line break, 500 characters. Each is shown literally (escaped),
    on one line, cut to 120 characters, and the post pings nobody."""
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    account = sim.accounts("pixverse")[0].account
    now = datetime.now(UTC)
    hostile = "**GPU** fell   over\n@everyone <@123> [x](http://e.vil)"
    reasons = [hostile] * 4 + ["y" * 500] * 3 + ["rare"] * 2 + [None]
    finished = [
        Finished(
            "pixverse",
            f"cb{i}",
            account,
            "video",
            None,
            "failed" if reason else "moderated",
            60.0,
            "callback",
            now,
            reason=reason,
        )
        for i, reason in enumerate(reasons)
    ]
    await h.bot.store.enqueue([], batch="cb", now=now, finished=finished)
    await cycle(h, ticks=3)  # read, then held two ticks
    await settled(h)
    [post] = [r for r in h.fake.requests_matching(POSTS) if r.status == 200]
    assert post.json["allowed_mentions"] == {"parse": []}
    [message] = h.fake.messages(h.alert_channel)
    assert message["mentions"] == [] and message["mention_everyone"] is False
    provider_wide, one_account = message["embeds"]
    at = stamp(provider_wide)
    detail = (
        "10 of 10 recent jobs failed or were moderated (100 %): 9 failed, 1 moderated. "
        "Top reasons: 4× \\*\\*GPU\\*\\* fell over @everyone \\<@123> \\[x\\](http://e.vil); "
        f"3× {'y' * 119}…; 2× rare"
    )
    tail = f"**failure rate** 100 %\n**jobs seen** 10\n**When** <t:{at}:f> (<t:{at}:R>)"
    common = {
        "type": "rich",
        "color": 0xED4245,
        "timestamp": provider_wide["timestamp"],
        "footer": {"text": "account alert"},
        "flags": 0,
    }
    # every job the provider finished was this account's: the provider's rate says the same
    assert provider_wide == {
        **common,
        "title": "PixVerse failure rate high",
        "description": f"{detail}\n{tail}",
    }
    assert one_account == {
        **common,
        "title": f"PixVerse account failure rate high · {account}",
        "description": f"**Account** {account}\n{detail}\n{tail}",
    }


async def test_still_exhausted_reminder_whole_once_at_discord(start_bot):
    """A capacity condition announced four hours ago (its state says so) is reminded, once:
    the whole embed as Discord gets it, under the capacity route like its announcement."""
    sim = make_sim(max_jobs=2)
    h = await start_bot(sim=sim, providers=["pixverse"])
    account = sim.accounts("pixverse")[0].account
    for _ in range(2):
        sim.start_job("pixverse", account, duration=INF)
    await cycle(h, ticks=2)  # full, held two ticks: exhausted
    await settled(h)
    assert count(h.fake, "exhausted", account) == 1
    store = h.bot.store
    now = datetime.now(UTC)
    states = (await store.load_watch("pixverse", now=now)).states
    scope = f"capacity:{account}"
    assert states[scope].announced == "full" and states[scope].reminded == 0
    four_hours_ago = replace(states[scope], announced_at=now - timedelta(hours=4, seconds=5))
    await store.commit_tick("pixverse", now=now, batch="aged", states=[four_hours_ago])
    await cycle(h, ticks=3)
    await settled(h)
    assert count(h.fake, "still exhausted") == 1
    [message] = [m for m in h.fake.messages(h.alert_channel) if "still" in str(m["embeds"])]
    [embed] = message["embeds"]
    at = stamp(embed)
    assert embed == {
        "type": "rich",
        "title": f"PixVerse capacity still exhausted · {account}",
        "description": f"**Account** {account}\nfull for 4h 00m\n**When** <t:{at}:f> (<t:{at}:R>)",
        "color": 0xED4245,
        "timestamp": embed["timestamp"],
        "footer": {"text": "capacity alert"},
        "flags": 0,
    }
