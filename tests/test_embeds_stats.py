"""The /stats and digest embed (`bot.embeds.stats.stats_embed`) from known figures, whole: no
jobs, one job, hostile model names, and more models than an embed holds. Each figure stands
next to its word, and every Discord limit holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from discord.utils import format_dt

from bot.embeds.limits import check_limits, embed_size
from bot.embeds.stats import stats_embed
from bot.history import Finished, Sample
from bot.history.stats import compute

T0 = datetime(2026, 11, 29, tzinfo=UTC)
T1 = T0 + timedelta(days=1)
TITLES = {"pixverse": "PixVerse", "minimax": "MiniMax"}
SPAN = f"{format_dt(T0, 'f')} to {format_dt(T1, 'f')}"
PROVIDERS = ("pixverse", "minimax", "dreamina", "kling", "runway", "mureka")


def job(n: int, model: str | None, outcome: str = "completed", **kw: Any) -> Finished:
    fields: dict[str, Any] = {
        "provider": "pixverse",
        "job_id": f"j{n}",
        "account": "a@x",
        "kind": "video",
        "model": model,
        "outcome": outcome,
        "run_seconds": 250.0,
        "via": "poll",
        "at": T0 + timedelta(hours=1),
    }
    fields.update(kw)
    return Finished(**fields)


def embed_of(jobs: list[Finished], samples: Sequence[Sample] = (), **kw: Any) -> dict[str, Any]:
    stats = compute(jobs, samples, since=T0, until=T1, providers=kw.pop("providers", ()))
    embed = stats_embed(stats, title="Stats · last 24h", titles=TITLES, **kw)
    check_limits(embed)
    return embed.to_dict()  # type: ignore[return-value]


def test_no_jobs_and_no_capacity_history() -> None:
    assert embed_of([], providers=["pixverse"], image="stats.png") == {
        "type": "rich",
        "title": "Stats · last 24h",
        "description": f"{SPAN}\n0 completed · 0 failed · 0 moderated",
        "color": 0x5865F2,
        "flags": 0,
        "fields": [
            {
                "name": "PixVerse",
                "value": "no capacity history in this period\nno finished jobs",
                "inline": False,
            }
        ],
        "image": {"url": "attachment://stats.png"},
    }


def test_one_job_and_an_hour_at_full_capacity() -> None:
    quarter = timedelta(minutes=15)  # (a point holds at most a quarter hour)
    full = [
        *(
            Sample("pixverse", None, T0 + timedelta(hours=2) + k * quarter, 3, 3, 0, True)
            for k in range(4)
        ),
        Sample("pixverse", None, T0 + timedelta(hours=3), 1, 3, 2, False),
    ]
    assert embed_of([job(1, "v5")], full, providers=["pixverse"]) == {
        "type": "rich",
        "title": "Stats · last 24h",
        "description": f"{SPAN}\n1 completed · 0 failed · 0 moderated · failure 0 %",
        "color": 0x5865F2,
        "flags": 0,
        "fields": [
            {
                "name": "PixVerse",
                "value": "1 h at full capacity\n**v5**: 1 completed · 0 failed · 0 moderated · "
                "failure 0 % · run time p50 4m 10s, p95 4m 10s",
                "inline": False,
            }
        ],
    }  # (no image: no chart was drawn, none is pointed at)


def test_failure_share_and_the_other_outcomes_each_next_to_its_word() -> None:
    jobs = [
        job(1, "v5"),
        job(2, "v5", run_seconds=500.0),
        job(3, "v5", "failed"),
        job(4, "v5", "moderated"),
        job(5, "v5", "failed"),
        job(6, "v5", "cancelled"),
        job(7, None, "failed", provider="minimax"),
    ]
    got = embed_of(jobs)
    # 4 of 6 decided (cancelled aside): 66.67, shown whole from 10 % up
    assert got["description"] == f"{SPAN}\n2 completed · 3 failed · 1 moderated · failure 67 %"
    assert [(f["name"], f["value"]) for f in got["fields"]] == [
        (
            "MiniMax",
            "no capacity history in this period\n**(model not known)**: 0 completed · "
            "1 failed · 0 moderated · failure 100 %",
        ),
        (
            "PixVerse",
            "no capacity history in this period\n**v5**: 2 completed · 2 failed · 1 moderated · "
            "1 cancelled or unknown · failure 60 % · run time p50 4m 10s, p95 8m 20s",
        ),
    ]


def test_hostile_model_names_show_as_text_on_their_own_line() -> None:
    names = [
        "**bold** @everyone <@123> `x`",
        "v5\n3 completed · 0 failed",  # a line break would start a line of made-up figures
        "M" * 3000,
        "[link](https://evil.example)",
        "# heading",
        " \n\t ",  # nothing but spaces: no name
    ]
    got = embed_of([job(n, name) for n, name in enumerate(names)])
    [field] = got["fields"]
    assert field["value"].split("\n") == [
        "no capacity history in this period",
        *(
            f"**{shown}**: 1 completed · 0 failed · 0 moderated · failure 0 % · "
            "run time p50 4m 10s, p95 4m 10s"
            for shown in [  # by upstream's name (all tie at one job)
                "(model not known)",
                r"\# heading",
                r"\*\*bold\*\* @everyone \<@123> \`x\`",
                "M" * 59 + "…",
                r"\[link\](https://evil.example)",
                "v5 3 completed · 0 failed",
            ]
        ),
    ]


def test_more_models_than_an_embed_holds_are_counted_not_cut_mid_line() -> None:
    jobs = [
        job(p * 1000 + m, f"model-{m:03}-" + "x" * 40, provider=name)
        for p, name in enumerate(PROVIDERS)
        for m in range(200)
    ]
    embed = stats_embed(
        compute(jobs, [], since=T0, until=T1), title="Stats · last 24h", titles=TITLES
    )
    check_limits(embed)
    assert embed_size(embed) <= 6000 and len(embed.fields) == 6
    assert [f.name for f in embed.fields] == [
        "dreamina",
        "kling",
        "MiniMax",
        "mureka",
        "PixVerse",
        "runway",
    ]
    for f in embed.fields:
        lines = (f.value or "").split("\n")
        assert lines[0] == "no capacity history in this period"
        assert lines[1].startswith("**model-000-")  # busiest first, then by name: all tie
        assert lines[-1] == f"… and {201 - len(lines) + 1} more models"
        assert all(line.endswith("p95 4m 10s") for line in lines[1:-1])
    assert embed.description == f"{SPAN}\n1200 completed · 0 failed · 0 moderated · failure 0 %"
