"""What the account checks look like: the new alerts' embeds (asserted whole), their summary
lines, the subscription line of /status and the marks of /capacity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.accounts.policy import (
    AccountState,
    Health,
    SubscriptionState,
    expiry_event,
)
from bot.accounts.subscription import ProviderAccounts, Subscription
from bot.alerts import AlertState
from bot.embeds import alert_batch, alert_embed, capacity_pages, status_embed
from bot.embeds.accounts import account_marks, subscription_line
from bot.embeds.style import BAD, OK, WARN
from bot.events import Event, EventKind
from bot.health import ProviderStatus
from bot.models import Account, Snapshot

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
TITLES = {"pixverse": "PixVerse", "minimax": "MiniMax", "dreamina": "Dreamina"}
WARN_DAYS = timedelta(days=3)


def account_event(
    word: str,
    provider: str = "pixverse",
    account: str | None = "ann@x.io",
    detail: str | None = None,
) -> Event:
    return Event(
        key=f"account:{provider}:{account}:1:{word}",
        kind=EventKind.ACCOUNT,
        provider=provider,
        word=word,
        at=NOW,
        account=account,
        detail=detail,
    )


def whole(event: Event, redact: bool = False) -> dict[str, object]:
    return dict(alert_embed(event, titles=TITLES, redact=redact).to_dict())


def expected(title: str, description: str, colour: int) -> dict[str, object]:
    return {
        "title": title,
        "description": description,
        "color": colour,
        "timestamp": NOW.isoformat(),
        "footer": {"text": "account alert"},
        "type": "rich",
        "flags": 0,
    }


WHEN = f"**When** <t:{TS}:f> (<t:{TS}:R>)"


def test_account_error_embed_names_the_account_and_useapis_message() -> None:
    e = account_event("account error", detail="pending error, re-add the *account*")
    assert whole(e) == expected(
        "PixVerse account error · ann@x.io",
        f"**Account** ann@x.io\npending error, re-add the \\*account\\*\n{WHEN}",
        BAD.value,
    )
    assert whole(e, redact=True)["title"] == "PixVerse account error · a\\*\\*\\*@x.io"


def test_account_ok_embed() -> None:
    e = account_event(
        "account ok", provider="minimax", account="412345", detail="the account works again"
    )
    assert whole(e) == expected(
        "MiniMax account ok · 412345",
        f"**Account** 412345\nthe account works again\n{WHEN}",
        OK.value,
    )


def test_subscription_embeds_are_useapi_wide() -> None:
    refused = "useapi's subscription is not active: its API calls will be refused"
    inactive = account_event(
        "subscription inactive", provider="useapi", account=None, detail=refused
    )
    assert whole(inactive) == expected(
        "useapi subscription inactive",
        "useapi's subscription is not active: its API calls will be refused\n" + WHEN,
        BAD.value,
    )
    active = account_event(
        "subscription active",
        provider="useapi",
        account=None,
        detail="useapi's subscription is active again",
    )
    assert whole(active) == expected(
        "useapi subscription active", "useapi's subscription is active again\n" + WHEN, OK.value
    )


def test_expires_soon_embed_shows_when_it_ends() -> None:
    ends = NOW + timedelta(days=2, hours=3)
    e = expiry_event("dreamina", "US:ann@x.io", ends, NOW)
    end = int(ends.timestamp())
    assert whole(e) == expected(
        "Dreamina account expires soon · US:ann@x.io",
        "**Account** US:ann@x.io\nits session or token ends in 2d 03h\n"
        f"**Ends** <t:{end}:f> (<t:{end}:R>)\n{WHEN}",
        WARN.value,
    )


def test_many_account_alerts_summarise_per_provider() -> None:
    events = [account_event("account error", account=f"a{i}@x.io") for i in range(12)]
    events.append(account_event("subscription inactive", provider="useapi", account=None))
    batch = alert_batch(events, titles=TITLES, redact=False)
    heads = [str(e.title) for e in batch] + [str(f.name) for e in batch for f in e.fields]
    assert any("PixVerse account error ×12" in h for h in heads), heads
    assert any("useapi subscription inactive ×1" in h for h in heads), heads


def test_subscription_line() -> None:
    assert subscription_line(None) == "Subscription: not checked yet"
    sub = Subscription(
        active=False,
        providers=(
            ProviderAccounts("MiniMax API", 3, 2, 1),
            ProviderAccounts("PixVerse_API", 2, 2, 0),
        ),
    )
    assert subscription_line(sub) == (
        "Subscription: **inactive** · accounts in error: MiniMax API 1/3, PixVerse\\_API 0/2"
    )
    assert subscription_line(Subscription(active=True)) == "Subscription: active"


def test_status_shows_the_subscription_only_with_the_checks() -> None:
    entries = [ProviderStatus.of("pixverse", None, last_ok=NOW, last_error=None, watcher_ok=True)]
    plain = status_embed(entries, now=NOW, titles=TITLES)
    assert plain.description == "All providers answering."
    sub = Subscription(active=True, providers=(ProviderAccounts("PixVerse API", 2, 1, 1),))
    checked = status_embed(entries, now=NOW, titles=TITLES, account_checks=True, subscription=sub)
    assert checked.description == (
        "All providers answering.\nSubscription: active · accounts in error: PixVerse API 1/2"
    )
    assert checked.colour == WARN
    off = Subscription(active=False)
    lapsed = status_embed(entries, now=NOW, titles=TITLES, account_checks=True, subscription=off)
    assert lapsed.colour == BAD


def test_capacity_marks_accounts_in_error_or_ending_soon() -> None:
    announced = AlertState("account", raw="error", announced="error", episode=1)
    health = Health(
        subscription=SubscriptionState(),
        accounts={
            ("pixverse", "bad@x.io"): AccountState("pixverse", "bad@x.io", alert=announced),
            ("pixverse", "soon@x.io"): AccountState(
                "pixverse", "soon@x.io", expires=NOW + WARN_DAYS
            ),
            ("pixverse", "later@x.io"): AccountState(
                "pixverse", "later@x.io", expires=NOW + WARN_DAYS + timedelta(seconds=1)
            ),
            ("pixverse", "gone@x.io"): AccountState(
                "pixverse", "gone@x.io", expires=NOW - WARN_DAYS
            ),
        },
    )
    marks = account_marks(health, NOW, WARN_DAYS)
    soon, gone = int((NOW + WARN_DAYS).timestamp()), int((NOW - WARN_DAYS).timestamp())
    assert marks == {
        ("pixverse", "bad@x.io"): "**account error**",
        ("pixverse", "soon@x.io"): f"expires <t:{soon}:R>",
        ("pixverse", "gone@x.io"): f"expired <t:{gone}:R>",
    }
    snap = Snapshot(
        provider="pixverse",
        taken_at=NOW,
        jobs=(),
        accounts=tuple(
            Account(account=a, max_jobs=2, executing=0, available=2)
            for a in ("bad@x.io", "soon@x.io", "later@x.io")
        ),
    )
    [page] = capacity_pages([snap], now=NOW, redact=False, titles=TITLES, marks=marks)
    [field] = page.fields
    assert field.value is not None
    assert field.value.splitlines() == [
        "▱▱▱▱▱▱▱▱▱▱ 0/2 bad@x.io · **account error**",
        "▱▱▱▱▱▱▱▱▱▱ 0/2 later@x.io",
        f"▱▱▱▱▱▱▱▱▱▱ 0/2 soon@x.io · expires <t:{soon}:R>",
    ]
