"""The account checks' policy (`bot.accounts.policy`), pure: each word once, recovery, flap
damping, `expires soon` once per expiry and at exactly the threshold, whole events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.accounts.policy import AccountState, Health, HealthPlan, applied, plan_check
from bot.accounts.subscription import ProviderAccounts, Subscription
from bot.events import Event, EventKind
from bot.models import AccountHealth

T0 = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=15)
WARN = timedelta(days=3)
FAR = T0 + timedelta(days=30)
ACTIVE = Subscription(active=True, providers=(ProviderAccounts("MiniMax API", 2, 2, 0),))
INACTIVE = Subscription(active=False)


def run(
    checks: list[tuple[Subscription | None, dict[str, tuple[AccountHealth, ...]]]],
    health: Health | None = None,
    start: datetime = T0,
) -> tuple[Health, list[list[Event]]]:
    """Each check in turn, STEP apart, each on what the one before left; the events of each."""
    health = health or Health()
    out: list[list[Event]] = []
    for i, (sub, accounts) in enumerate(checks):
        plan = plan_check(health, sub, accounts, now=start + i * STEP, flap_ticks=2, warn=WARN)
        health = applied(health, plan)
        out.append(plan.events)
    return health, out


def ok(
    account: str = "a@x", expires: datetime | None = FAR
) -> dict[str, tuple[AccountHealth, ...]]:
    return {"pixverse": (AccountHealth("pixverse", account, None, expires),)}


def bad(
    account: str = "a@x", error: str = "re-add the account"
) -> dict[str, tuple[AccountHealth, ...]]:
    return {"pixverse": (AccountHealth("pixverse", account, error, FAR),)}


def account_event(word: str, episode: int, at: datetime, detail: str) -> Event:
    return Event(
        key=f"account:pixverse:a@x:{episode}:{word}",
        kind=EventKind.ACCOUNT,
        provider="pixverse",
        word=word,
        at=at,
        account="a@x",
        detail=detail,
    )


def test_account_error_once_after_two_checks_then_ok_once_after_two() -> None:
    checks = [bad(), bad(), bad(), ok(), ok(), ok()]
    _, events = run([(None, c) for c in checks])
    assert events == [
        [],
        [account_event("account error", 1, T0 + STEP, "re-add the account")],
        [],
        [],
        [account_event("account ok", 1, T0 + 4 * STEP, "the account works again")],
        [],
    ]


def test_a_flapping_account_says_nothing() -> None:
    _, events = run([(None, c) for c in [bad(), ok(), bad(), ok(), bad(), ok()]])
    assert events == [[]] * 6


def test_an_announced_error_that_flaps_back_is_not_cleared() -> None:
    _, events = run([(None, c) for c in [bad(), bad(), ok(), bad(), ok(), bad()]])
    assert [[e.word for e in evs] for evs in events] == [[], ["account error"], [], [], [], []]


def test_a_second_episode_has_its_own_keys() -> None:
    _, events = run([(None, c) for c in [bad(), bad(), ok(), ok(), bad(), bad()]])
    keys = [e.key for evs in events for e in evs]
    assert keys == [
        "account:pixverse:a@x:1:account error",
        "account:pixverse:a@x:1:account ok",
        "account:pixverse:a@x:2:account error",
    ]


def test_subscription_inactive_once_then_active_once() -> None:
    _, events = run([(s, {}) for s in [INACTIVE, INACTIVE, INACTIVE, ACTIVE, ACTIVE, ACTIVE]])
    assert events == [
        [],
        [
            Event(
                key="account:useapi:subscription:1:subscription inactive",
                kind=EventKind.ACCOUNT,
                provider="useapi",
                word="subscription inactive",
                at=T0 + STEP,
                detail="useapi's subscription is not active: its API calls will be refused",
            )
        ],
        [],
        [],
        [
            Event(
                key="account:useapi:subscription:1:subscription active",
                kind=EventKind.ACCOUNT,
                provider="useapi",
                word="subscription active",
                at=T0 + 4 * STEP,
                detail="useapi's subscription is active again",
            )
        ],
        [],
    ]


def test_an_unread_subscription_or_provider_keeps_its_state() -> None:
    health, _ = run([(INACTIVE, bad())])
    plan = plan_check(health, None, {}, now=T0 + STEP, flap_ticks=2, warn=WARN)
    assert plan == HealthPlan()
    assert applied(health, plan) == health
    # the second reading after the gap still counts as the second in a row
    _, events = run([(INACTIVE, bad())], health=health, start=T0 + 2 * STEP)
    assert [e.word for e in events[0]] == ["subscription inactive", "account error"]


def test_expires_soon_at_exactly_the_threshold_and_once_per_expiry() -> None:
    at = T0 + WARN  # exactly EXPIRY_WARN_DAYS away at the first check
    later = at + timedelta(days=30)
    _, events = run([(None, ok(expires=at)), (None, ok(expires=at)), (None, ok(expires=later))])
    instant = "2026-03-12T12:00:00Z"
    assert events == [
        [
            Event(
                key=f"account:pixverse:a@x:expires:{instant}:expires soon",
                kind=EventKind.ACCOUNT,
                provider="pixverse",
                word="expires soon",
                at=T0,
                account="a@x",
                detail="its session or token ends in 3d 00h",
                extra={"expires": instant},
            )
        ],
        [],
        [],  # renewed: a month away, nothing to say
    ]


def test_a_second_past_the_threshold_is_not_soon_until_it_is() -> None:
    at = T0 + WARN + timedelta(seconds=1)
    _, events = run([(None, ok(expires=at)), (None, ok(expires=at))])
    assert [[e.word for e in evs] for evs in events] == [[], ["expires soon"]]


def test_a_new_expiry_within_the_window_is_a_new_warning_and_an_ended_one_says_so() -> None:
    first, second = T0 + timedelta(days=1), T0 - timedelta(hours=1)
    _, events = run([(None, ok(expires=first)), (None, ok(expires=second))])
    assert [(e.key, e.detail) for evs in events for e in evs] == [
        (
            "account:pixverse:a@x:expires:2026-03-10T12:00:00Z:expires soon",
            "its session or token ends in 1d 00h",
        ),
        (
            "account:pixverse:a@x:expires:2026-03-09T11:00:00Z:expires soon",
            "its session or token has ended",
        ),
    ]


def test_an_unknown_expiry_never_warns() -> None:
    _, events = run([(None, ok(expires=None))] * 3)
    assert events == [[]] * 3


def test_accounts_no_longer_listed_are_forgotten_others_providers_kept() -> None:
    two = {"pixverse": (AccountHealth("pixverse", "a@x"), AccountHealth("pixverse", "b@x"))}
    other = {"minimax": (AccountHealth("minimax", "1"),)}
    health, _ = run([(None, {**two, **other})])
    plan = plan_check(health, None, ok("b@x"), now=T0 + STEP, flap_ticks=2, warn=WARN)
    assert plan.remove == [("pixverse", "a@x")]
    after = applied(health, plan)
    assert sorted(after.accounts) == [("minimax", "1"), ("pixverse", "b@x")]


def test_the_odd_account_first_last_and_alone() -> None:
    broken = AccountHealth("pixverse", "odd", "gone")
    fine = [AccountHealth("pixverse", f"n{i}", None, FAR) for i in range(2)]
    for listing in ([broken, *fine], [*fine, broken], [broken]):
        _, events = run([(None, {"pixverse": tuple(listing)})] * 2)
        assert [(e.account, e.word) for e in events[1]] == [("odd", "account error")]


def test_an_account_listed_twice_is_its_first_entry() -> None:
    twice: dict[str, tuple[AccountHealth, ...]] = {
        "pixverse": (AccountHealth("pixverse", "a@x", "first"), AccountHealth("pixverse", "a@x"))
    }
    health, events = run([(None, twice)] * 2)
    assert [e.detail for e in events[1]] == ["first"]
    assert health.accounts[("pixverse", "a@x")].error == "first"


def test_views_read_in_error_and_expiring() -> None:
    state = AccountState("pixverse", "a@x", expires=T0 + WARN)
    assert state.expires_within(T0, WARN)
    assert not state.expires_within(T0 - timedelta(seconds=1), WARN)
    assert not state.in_error


# --------------------------------------------------------------------------- reminders

HOURS4 = timedelta(hours=4)


def remind_run(
    checks: Sequence[tuple[datetime, Subscription | None, dict[str, tuple[AccountHealth, ...]]]],
    health: Health | None = None,
) -> tuple[Health, list[list[str]]]:
    health = health or Health()
    keys: list[list[str]] = []
    for now, sub, accounts in checks:
        plan = plan_check(
            health, sub, accounts, now=now, flap_ticks=2, warn=WARN, remind_after=HOURS4
        )
        health = applied(health, plan)
        keys.append([e.key for e in plan.events])
    return health, keys


def test_an_error_still_on_is_reminded_once_per_period_as_still_unreachable() -> None:
    announced = T0 + STEP  # the second check
    checks = [
        (T0, None, bad()),
        (announced, None, bad()),
        (announced + HOURS4 - timedelta(seconds=1), None, bad()),
        (announced + HOURS4, None, bad()),  # exactly REMIND_AFTER_HOURS
        (announced + HOURS4 + STEP, None, bad()),
        (announced + 2 * HOURS4, None, bad()),
        (announced + 2 * HOURS4 + STEP, None, ok()),
        (announced + 2 * HOURS4 + 2 * STEP, None, ok()),
        (announced + 5 * HOURS4, None, ok()),
    ]
    _, keys = remind_run(checks)
    assert keys == [
        [],
        ["account:pixverse:a@x:1:account error"],
        [],
        ["account:pixverse:a@x:1:still unreachable:1"],
        [],
        ["account:pixverse:a@x:1:still unreachable:2"],
        [],
        ["account:pixverse:a@x:1:account ok"],
        [],
    ]
    # the reminder whole, and its period recorded with it
    plan = plan_check(
        remind_run(checks[:3])[0],
        None,
        bad(),
        now=announced + HOURS4,
        flap_ticks=2,
        warn=WARN,
        remind_after=HOURS4,
    )
    assert plan.events == [
        Event(
            key="account:pixverse:a@x:1:still unreachable:1",
            kind=EventKind.ACCOUNT,
            provider="pixverse",
            word="still unreachable",
            at=announced + HOURS4,
            account="a@x",
            detail="still in error after 4h 00m: re-add the account",
        )
    ]
    assert plan.write[0].alert.reminded == 1


def test_the_subscription_still_inactive_is_reminded() -> None:
    announced = T0 + STEP
    _, keys = remind_run(
        [
            (T0, INACTIVE, {}),
            (announced, INACTIVE, {}),
            (announced + HOURS4, INACTIVE, {}),
            (announced + HOURS4 + STEP, INACTIVE, {}),
        ]
    )
    assert keys == [
        [],
        ["account:useapi:subscription:1:subscription inactive"],
        ["account:useapi:subscription:1:still unreachable:1"],
        [],
    ]


def test_no_reminders_without_a_period() -> None:
    health, _ = run([(None, bad()), (None, bad())])
    plan = plan_check(
        health, None, bad(), now=T0 + 100 * HOURS4, flap_ticks=2, warn=WARN, remind_after=None
    )
    assert plan.events == []
