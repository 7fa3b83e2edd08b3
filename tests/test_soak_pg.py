"""The chaos soak on PostgreSQL (issue 13): the run of test_soak.py – `python -m bot run`
SIGKILLed mid-delivery and mid-tick, the bot hard-stopped in process between ticks, mid-tick
and mid-delivery, every planned fault upstream and on the fake Discord – on a database of its
own on the test server, checked against the simulator's ground truth by the same analysis.

It runs at a smaller size than the SQLite soak (`rig.soak.run.PG_SIZE`: 64 rounds and 3
in-process hard stops where SQLite has 100 and 8; ~25 s) to keep the suite's time; this module
is apart from test_soak.py so that the two soaks run in different xdist workers at once.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rig.soak import CI_SEED, SoakResult, ci_result
from rig.soak.chaos import SCHEDULE
from rig.soak.config import PLANNED_FAULTS
from rig.soak.run import PG_SIZE

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def soak() -> SoakResult:
    return ci_result("postgresql")


def test_every_alert_reaches_discord_exactly_once_on_postgresql(
    soak: SoakResult, soak_summary: Callable[[str], None]
) -> None:
    r = soak.report
    soak_summary(str(r))
    assert r.backend == "postgresql" and soak.database_url.startswith("postgresql+asyncpg://")
    assert str(r).startswith(f"soak seed {CI_SEED} on PostgreSQL: ")
    assert not r.problems, str(r)
    assert r.lost == 0 and r.invented == 0 and r.duplicated == 0 and r.capacity_lost == 0
    assert r.delivered >= r.expected
    assert r.delivered == r.expected + r.unexpected_ok


def test_the_postgresql_soak_was_a_real_one(soak: SoakResult) -> None:
    """Smaller, but every kind of stop and every planned fault: both SIGKILLs, a hard stop of
    each kind, faults upstream and on Discord, alerts of every kind, and a database that held
    them (the outbox rows the analysis matched the messages with)."""
    r = soak.report
    assert PG_SIZE["rounds"] > max(SCHEDULE)
    assert r.rounds >= PG_SIZE["rounds"]
    assert r.jobs_finished >= 1000 and r.expected >= 800, str(r)
    assert r.expected_stuck >= 5
    assert r.kills == 2 and r.hard_stops == 3 and r.restarts == r.kills + r.hard_stops
    hows = [inc.how for inc in soak.engine.incs]
    assert hows[:2] == ["SIGKILL mid-delivery", "SIGKILL mid-tick"], hows
    for way in ("between ticks", "mid-tick", "mid-delivery"):
        assert f"hard stop {way}" in hows, hows
    for kind in PLANNED_FAULTS:
        assert r.faults[kind] >= 1, f"no {kind!r} fault: {dict(r.faults)}"
    assert r.fault_hits >= r.faults_injected
    assert r.capacity_exhausted >= 5 and r.capacity_restored >= 5
    assert r.upstream_alerts >= 4
    assert r.messages >= 100 and r.summarised >= 1
    sent = [row for row in soak.engine.outbox_rows if row["state"] == "sent"]
    assert len(sent) >= r.delivered_total and soak.engine.pending_left == 0
