"""/capacity history's embed (`bot.embeds.stats.capacity_history_embed`), whole, for each way
the chart is drawn: per provider, a provider's accounts (all, or the busiest and the others as
one line), and a provider with no account recorded (its total)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from discord.utils import format_dt

from bot.embeds.stats import capacity_history_embed
from bot.embeds.style import NEUTRAL
from bot.history.stats import ProviderStats, Stats

T1 = datetime(2026, 11, 30, tzinfo=UTC)
T0 = T1 - timedelta(days=7)
TITLES = {"pixverse": "PixVerse", "minimax": "MiniMax"}


def figures(*providers: ProviderStats) -> Stats:
    return Stats(T0, T1, providers)


@pytest.mark.parametrize(
    ("provider", "drawn", "others", "what"),
    [
        (None, 0, 0, "per provider"),
        ("pixverse", 9, 0, "per account"),
        ("pixverse", 8, 492, "per account (the 8 busiest; the 492 others as one line)"),
        ("pixverse", 0, 0, "by all its accounts together"),
    ],
)
def test_the_embed_says_what_the_chart_draws(
    provider: str | None, drawn: int, others: int, what: str
) -> None:
    stats = figures(
        ProviderStats("minimax", (), 0.0, False), ProviderStats("pixverse", (), 2.5, True)
    )
    embed = capacity_history_embed(
        stats,
        period="7d",
        provider=provider,
        drawn=drawn,
        others=others,
        titles=TITLES,
        image="capacity.png",
    )
    scope = "PixVerse" if provider else "All providers"
    assert embed.to_dict() == {
        "type": "rich",
        "flags": 0,
        "title": f"Capacity · {scope} · last 7d",
        "description": (
            f"{format_dt(T0, 'f')} to {format_dt(T1, 'f')}\n"
            f"Capacity used {what} (times in UTC); exhausted periods shaded."
        ),
        "color": NEUTRAL.value,
        "fields": [
            {
                "name": "At full capacity",
                "value": "MiniMax: no capacity history in this period\n"
                "PixVerse: 2.5 h at full capacity",
                "inline": False,
            }
        ],
        "image": {"url": "attachment://capacity.png"},
    }
