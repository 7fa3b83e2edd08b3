"""One answer to "is this account full?" (issue 10, defect 1).

The same accounts go to the alert policy (`bot.diff.capacity_observations` →
`bot.alerts.capacity_events`) and to every view of them — the `/capacity` and `/board` embeds,
`opsbot status` (table and JSON) and the terminal rendering `opsbot demo` prints — and each view
must say what the policy says, account by account: an account the watcher announces as
`exhausted` is shown exhausted, and no other. The table holds the MiniMax account (3 of 3
running, one free slot by useapi's count: not full) and each count at exactly its limit and on
either side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from discord.utils import format_dt
from rich.console import Console, Group
from rich.table import Table

from bot.alerts import EXHAUSTED, capacity_events
from bot.diff import capacity_observations
from bot.embeds import BAD, board_embed, capacity_pages
from bot.models import Account, Snapshot
from bot.report import ProviderReport, tables, to_json
from bot.terminal import print_embeds

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TITLES = {"minimax": "MiniMax"}
FULL_BAR = "▰" * 10
EMPTY_BAR = "▱" * 10
TWO_THIRDS = "▰" * 7 + "▱" * 3


@dataclass(frozen=True)
class Row:
    account: Account
    full: bool  # what every view must show (and what the policy announces)
    line: str  # the account's line in /capacity, before its name
    totals: str  # the provider's totals with this account alone (/capacity, /board)


ROWS = [
    # useapi's own count of free slots (`available`) decides where it is published
    Row(Account("minimax-video-fits", 3, 3, 1), False, f"{FULL_BAR} 3/3", f"{FULL_BAR} 3/3 · 100%"),
    Row(Account("at-limit-none-free", 3, 3, 0), True, f"{FULL_BAR} 3/3", f"{FULL_BAR} 3/3 · 100%"),
    Row(
        Account("below-limit-one-free", 3, 2, 1),
        False,
        f"{TWO_THIRDS} 2/3",
        f"{TWO_THIRDS} 2/3 · 67%",
    ),
    Row(
        Account("below-limit-none-free", 3, 2, 0),
        True,
        f"{TWO_THIRDS} 2/3",
        f"{TWO_THIRDS} 2/3 · 67%",
    ),
    Row(
        Account("above-limit-one-free", 3, 4, 1), False, f"{FULL_BAR} 4/3", f"{FULL_BAR} 4/3 · 133%"
    ),
    Row(Account("no-limit-none-free", None, 2, 0), True, f"{EMPTY_BAR} 2/?", f"{EMPTY_BAR} 2/?"),
    Row(Account("no-limit-one-free", None, 2, 1), False, f"{EMPTY_BAR} 2/?", f"{EMPTY_BAR} 2/?"),
    # no free-slot count (Dreamina, Runway): the running jobs against maxJobs
    Row(
        Account("counted-below-limit", 3, 2, None),
        False,
        f"{TWO_THIRDS} 2/3",
        f"{TWO_THIRDS} 2/3 · 67%",
    ),
    Row(Account("counted-at-limit", 3, 3, None), True, f"{FULL_BAR} 3/3", f"{FULL_BAR} 3/3 · 100%"),
    Row(
        Account("counted-above-limit", 3, 4, None),
        True,
        f"{FULL_BAR} 4/3",
        f"{FULL_BAR} 4/3 · 133%",
    ),
    Row(Account("counted-no-slots", 0, 0, None), True, f"{FULL_BAR} 0/0", f"{FULL_BAR} 0/0"),
    # neither (Mureka): nobody can tell, so nothing is announced and nothing shown exhausted
    Row(
        Account("no-limit-no-count", None, 2, None),
        False,
        "2 running · no limit published ·",
        "2 running · no limit published",
    ),
]
IDS = [r.account.account for r in ROWS]


def policy_exhausted(accounts: tuple[Account, ...]) -> tuple[set[str], bool]:
    """What the watcher announces on its first look at `accounts`: the accounts it calls
    exhausted, and whether it calls the whole provider exhausted."""
    _, events = capacity_events(
        "minimax", capacity_observations(accounts), {}, now=NOW, flap_ticks=1
    )
    assert {e.word for e in events} <= {EXHAUSTED}
    return {e.account for e in events if e.account is not None}, any(
        e.account is None for e in events
    )


def snapshot(*accounts: Account) -> Snapshot:
    return Snapshot("minimax", NOW - timedelta(seconds=5), (), accounts)


def capacity_line(row: Row) -> str:
    mark = " · **exhausted**" if row.full else ""
    return f"{row.line} {row.account.account}{mark}"


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_policy_announces_what_the_table_says(row: Row) -> None:
    accounts, provider_wide = policy_exhausted((row.account,))
    assert accounts == ({row.account.account} if row.full else set())
    assert provider_wide is row.full  # the provider's only account


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_capacity_embed_agrees_with_the_policy(row: Row) -> None:
    _, provider_wide = policy_exhausted((row.account,))
    [page] = capacity_pages([snapshot(row.account)], now=NOW, redact=False, titles=TITLES)
    callout = f"\nExhausted: {row.account.account}" if row.full else ""
    assert page.description == f"**MiniMax** {row.totals} · 1 account{callout}"
    assert [(f.name, f.value) for f in page.fields] == [("MiniMax accounts", capacity_line(row))]
    assert (page.colour == BAD) is provider_wide


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_board_agrees_with_the_policy(row: Row) -> None:
    _, provider_wide = policy_exhausted((row.account,))
    snap = snapshot(row.account)
    board = board_embed([snap], now=NOW, titles=TITLES, redact=False)
    lines = ["Queue: 0 running", f"Capacity: {row.totals}"]
    if row.full:
        lines.append(f"Exhausted (1): {row.account.account}")
    lines.append(f"Data from {format_dt(snap.taken_at, 'R')}")
    assert [(f.name, f.value) for f in board.fields] == [("MiniMax", "\n".join(lines))]
    assert (board.colour == BAD) is provider_wide


def test_every_view_agrees_with_the_policy_account_by_account() -> None:
    """All the rows as one provider's accounts, as the views list them."""
    accounts = tuple(r.account for r in ROWS)
    announced, provider_wide = policy_exhausted(accounts)
    full = [r for r in ROWS if r.full]
    assert announced == {r.account.account for r in full}
    assert not provider_wide  # some account has room

    [page] = capacity_pages([snapshot(*accounts)], now=NOW, redact=False, titles=TITLES)
    by_name = {r.account.account: r for r in ROWS}
    # fullest first: the full accounts, then the others, each by the share of slots in use
    order = [
        "counted-no-slots",
        "counted-above-limit",
        "at-limit-none-free",
        "counted-at-limit",
        "below-limit-none-free",
        "no-limit-none-free",
        "above-limit-one-free",
        "minimax-video-fits",
        "below-limit-one-free",
        "counted-below-limit",
        "no-limit-no-count",
        "no-limit-one-free",
    ]
    assert page.fields[0].value == "\n".join(capacity_line(by_name[n]) for n in order)
    callout = (page.description or "").split("\nExhausted: ", 1)[1]
    assert callout == ", ".join(r.account.account for r in full[:5]) + f" and {len(full) - 5} more"

    board = board_embed([snapshot(*accounts)], now=NOW, titles=TITLES, redact=False)
    names = [r.account.account for r in full]
    assert f"Exhausted ({len(full)}): {', '.join(names[:3])} and {len(full) - 3} more" in (
        board.fields[0].value or ""
    )


def _status_rows(accounts: tuple[Account, ...]) -> list[tuple[list[str], Any]]:
    """`opsbot status`'s capacity table: each row's cells and style."""
    group = tables([ProviderReport("minimax", "MiniMax", snapshot(*accounts), None)])
    assert isinstance(group, Group)
    cap = group.renderables[1]
    assert isinstance(cap, Table) and cap.title == "MiniMax capacity"
    cells = [[str(c) for c in col.cells] for col in cap.columns]
    return [([col[i] for col in cells], row.style) for i, row in enumerate(cap.rows)]


def test_status_table_agrees_with_the_policy() -> None:
    accounts = tuple(r.account for r in ROWS)
    announced, _ = policy_exhausted(accounts)
    rows = _status_rows(accounts)
    assert [cells[0] for cells, _ in rows] == IDS
    for (cells, style), r in zip(rows, ROWS, strict=True):
        a = r.account
        assert cells == [
            a.account,
            str(a.executing),
            str(a.max_jobs) if a.max_jobs is not None else "?",
            str(a.available) if a.available is not None else "?",
        ]
        assert (style == "red") is (a.account in announced), a.account  # red: exhausted
        assert style in ("red", None)


def test_status_json_carries_what_the_policy_decides_from() -> None:
    """The JSON gives each account's counts as read (the contract's shape): a script that
    asks `Account.full` of them gets the policy's answer."""
    accounts = tuple(r.account for r in ROWS)
    announced, _ = policy_exhausted(accounts)
    doc = to_json([ProviderReport("minimax", "MiniMax", snapshot(*accounts), None)], NOW)
    rows = doc["providers"][0]["accounts"]
    assert rows == [
        {
            "account": a.account,
            "max_jobs": a.max_jobs,
            "executing": a.executing,
            "available": a.available,
        }
        for a in accounts
    ]
    decided = {
        r["account"]
        for r in rows
        if Account(r["account"], r["max_jobs"], r["executing"], r["available"]).full
    }
    assert decided == announced


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_terminal_rendering_agrees_with_the_policy(row: Row) -> None:
    """What `opsbot demo` prints for /capacity: the account's line, bold markers gone."""
    [page] = capacity_pages([snapshot(row.account)], now=NOW, redact=False, titles=TITLES)
    console = Console(record=True, width=200, color_system=None)
    print_embeds(console, page, now=NOW)
    shown = [ln.strip("│ ") for ln in console.export_text().splitlines()]
    mark = " · exhausted" if row.full else ""
    assert f"{row.line} {row.account.account}{mark}" in shown
    assert any(ln == f"Exhausted: {row.account.account}" for ln in shown) is row.full
