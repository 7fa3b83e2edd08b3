"""The chaos soak, CI size: thousands of simulated jobs across the three providers, faults
switching on and off upstream and on the fake Discord, the bot SIGKILLed (as `python -m bot
run`) and hard-stopped in-process at random moments, all on one database – and then every
alert Discord received checked against the simulator's ground truth. See `rig/soak/`.

The seed is printed with the counts; `OPSBOT_SOAK_SEED=N` runs another one. The long mode is
`.venv/bin/python bench/soak.py --minutes 10`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from rig.soak import CI_SEED, Report, SoakResult, analyse, ci_result
from rig.soak.config import PLANNED_FAULTS
from rig.soak.truth import required_transitions, runs

#: The first test to ask for the soak runs it (~50 s); the others reuse it.
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def soak() -> SoakResult:
    return ci_result()


def test_every_alert_reaches_discord_exactly_once(
    soak: SoakResult, soak_summary: Callable[[str], None]
) -> None:
    r = soak.report
    # Printed at the end of the run by conftest.py (from an xdist worker too).
    soak_summary(str(r))
    assert r.seed == CI_SEED
    assert not r.problems, str(r)
    assert r.lost == 0 and r.invented == 0 and r.duplicated == 0 and r.capacity_lost == 0
    assert r.delivered >= r.expected
    assert r.delivered == r.expected + r.unexpected_ok


def test_the_soak_was_a_real_one(soak: SoakResult) -> None:
    """The run did what it claims: thousands of jobs, every kind of fault, real SIGKILLs and
    in-process stops at random moments, alerts of every kind, and Discord dropping repeats."""
    r = soak.report
    assert r.jobs_finished >= 2000 and r.expected >= 1500, str(r)
    assert r.jobs_seen >= 0.8 * r.jobs_finished
    assert r.expected_stuck >= 5
    assert r.kills >= 2 and r.hard_stops >= 6 and r.restarts >= r.kills + r.hard_stops
    for kind in PLANNED_FAULTS:
        assert r.faults[kind] >= 1, f"no {kind!r} fault: {dict(r.faults)}"
    assert any(r.faults[f"upstream {s}"] for s in (500, 502, 503))
    assert r.fault_hits >= r.faults_injected
    assert r.capacity_exhausted >= 5 and r.capacity_restored >= 5
    assert r.capacity_required >= 5
    assert r.upstream_alerts >= 4
    assert r.messages >= 200 and r.summarised >= 1


def _rerun(
    soak: SoakResult, monkeypatch: pytest.MonkeyPatch, messages: list[dict[str, Any]]
) -> Report:
    """Run the analysis again over `messages` in place of what Discord holds."""
    engine = soak.engine
    monkeypatch.setattr(engine.fake, "messages", lambda channel_id=None: messages)
    report = Report(seed=soak.report.seed)
    analyse(engine, report)
    return report


def test_the_check_catches_a_duplicate_a_loss_and_an_invention(
    soak: SoakResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison is not vacuous: posting one alert message twice, dropping one, or
    changing the outcome word in one is each reported."""
    messages = list(soak.engine.fake.messages())
    singles = [
        i
        for i, m in enumerate(messages)
        if len(m["embeds"]) == 1 and m["embeds"][0]["title"].endswith(" job completed")
    ]
    assert singles
    i = singles[len(singles) // 2]

    twice = _rerun(soak, monkeypatch, [*messages, messages[i]])
    assert twice.duplicated == 1 and twice.lost == 0 and twice.invented == 0

    gone = _rerun(soak, monkeypatch, messages[:i] + messages[i + 1 :])
    lost_or_optional = soak.report.unexpected_ok - gone.unexpected_ok + gone.lost
    assert lost_or_optional == 1 and gone.duplicated == 0 and gone.invented == 0

    forged = json.loads(json.dumps(messages[i]))
    forged["embeds"][0]["title"] = forged["embeds"][0]["title"].replace("completed", "failed")
    wrong = _rerun(soak, monkeypatch, [*messages[:i], forged, *messages[i + 1 :]])
    assert wrong.invented == 1

    stranger = dict(messages[i], id="1", nonce="not-a-nonce-of-ours")
    extra = _rerun(soak, monkeypatch, [*messages, stranger])
    assert extra.invented == 1


def test_damped_capacity_truth() -> None:
    """The lower bound on capacity alerts: a value is announced once two known-committed
    reads in a row show it; runs with fewer settle nothing."""
    F, N = True, False
    reads = [
        (N, True),
        (F, True),
        (F, False),
        (F, True),
        (N, True),
        (F, True),
        (N, True),
        (N, True),
    ]
    assert runs(reads) == [(N, 1, 1), (F, 3, 2), (N, 1, 1), (F, 1, 1), (N, 2, 2)]
    assert required_transitions(runs(reads)) == (1, 1, False)
    assert required_transitions(runs([(F, True), (F, True)])) == (1, 0, True)
    assert required_transitions(runs([(F, True), (F, False)])) == (0, 0, None)


def test_report_lists_every_figure(soak: SoakResult) -> None:
    text = str(soak.report)
    for figure in (
        "expected",
        "delivered",
        "duplicated",
        "lost",
        "restarts",
        "faults injected",
        f"seed {CI_SEED}",
    ):
        assert figure in text
    assert dataclasses.asdict(soak.report)["seed"] == CI_SEED
