"""Previews end to end (issue 15, part 1): simulator ⇄ the real bot ⇄ fake Discord, on
loopback. A completed job's alert and `/job` show its picture (image jobs) or its cover
(videos, songs); other outcomes, `SHOW_PREVIEWS=false` and hostile URLs show none. The fake
Discord refuses an embed image Discord would refuse (not http(s), over 2,048 characters), so
a post it accepted carried none.
"""

from __future__ import annotations

import asyncio
import math
import re
from datetime import UTC, datetime
from typing import Any

import discord
import pytest

from bot.embeds import limit_problems
from bot.embeds.preview import PREVIEWS_PER_MESSAGE
from bot.sim import Simulator
from bot.sim.callbacks import CallbackSender
from bot.sim.providers import SPECS
from bot.sim.providers.runway import task_uuid
from bot.sim.render import route
from rig.botharness import Harness, cycle, make_sim, settled
from rig.fakediscord import MEMBER_PERMISSIONS
from rig.process import free_port
from rig.received import POSTS, plain

INF = math.inf
JSON = dict[str, Any]
LONG = "https://cdn.example/" + "c" * (3000 - len("https://cdn.example/"))


def by_job(h: Harness) -> dict[str, JSON]:
    """Every alert embed posted, by the job id on its first line."""
    out: dict[str, JSON] = {}
    for m in h.fake.messages(h.alert_channel):
        for e in m["embeds"]:
            first = plain(e.get("description", "")).split("\n", 1)[0]
            if first.startswith("**Job** "):
                out[first.removeprefix("**Job** ")] = e
    return out


def media(e: JSON) -> tuple[str | None, str | None]:
    """(image url, thumbnail url) of an embed as Discord got it."""
    return (e.get("image") or {}).get("url"), (e.get("thumbnail") or {}).get("url")


async def run(h: Harness, name: str, options: JSON) -> JSON:
    """Invoke a slash command as a plain member; what the invoker ends up seeing."""
    done = asyncio.ensure_future(
        h.bot.wait_for(
            "app_command_completion", check=lambda i, c: c.qualified_name == name, timeout=10
        )
    )
    await asyncio.sleep(0)  # let wait_for register its listener
    inter = await h.fake.invoke(name, options, permissions=MEMBER_PERMISSIONS)
    await done
    original = h.fake.original_message(inter)  # /job defers, then edits
    assert original is not None
    return original


def expected_media(sim: Simulator, job_id: str) -> tuple[str | None, str | None]:
    """What each simulated provider's completed job shows, from the simulator's own URLs."""
    job = sim.job(job_id)
    assert job is not None
    n, kind = job.n, job.kind
    match job.provider:
        case "pixverse":  # an image's url is the picture; a video has no cover
            return (
                (f"https://media.pixverse.example/image/{n}.png", None)
                if kind == "image"
                else (
                    None,
                    None,
                )
            )
        case "minimax":  # an image: its videoURL (first of download/preview); a video: cover
            if kind == "image":
                return f"https://cdn.hailuo.example/image/{n}.jpeg", None
            return None, f"https://cdn.hailuo.example/video/{n}-cover.jpeg"
        case "dreamina":  # an image: the first of its four; a video: its cover
            if kind == "image":
                return f"https://p9.dreamina.example/{job.submit_id}-0.jpeg", None
            return None, f"https://p16.dreamina.example/{job.submit_id}.jpeg"
        case "kling":
            if kind == "image":
                return f"https://s21-kling.example/{int(job.id)}.png", None
            return None, f"https://s21-kling.example/{int(job.id)}-cover.jpg"
        case "runway":
            return None, f"https://dnznrvs05pmza.runway.example/{n}-preview.jpg"
        case "mureka":
            return None, f"https://cdn.mureka.example/{n}/1-cover.png"
    raise AssertionError(job.provider)


def expected_links(sim: Simulator, job_id: str) -> list[str]:
    """Every result URL of a simulated completed job, each linked: the video or audio itself,
    and every image of a set (only the first is pictured)."""
    job = sim.job(job_id)
    assert job is not None
    n, image = job.n, job.kind == "image"
    ext = "png" if image else "mp4"
    match job.provider:
        case "pixverse":
            return [f"https://media.pixverse.example/{job.kind}/{n}.{ext}"]
        case "minimax":  # videoURL and downloadURL; the cover is pictured, not linked
            media = f"https://cdn.hailuo.example/{job.kind}/{n}"
            ext = "jpeg" if image else "mp4"
            return [f"{media}.{ext}", f"{media}-download.{ext}"]
        case "dreamina":
            if image:
                return [f"https://p9.dreamina.example/{job.submit_id}-{i}.jpeg" for i in range(4)]
            return [f"https://v16.dreamina.example/{job.submit_id}.mp4"]
        case "kling":
            return [f"https://s21-kling.example/{int(job.id)}.{ext}"]
        case "runway":
            return [f"https://dnznrvs05pmza.runway.example/{task_uuid(n)}.{ext}"]
        case "mureka":  # both songs of the pair
            return [f"https://cdn.mureka.example/{n}/{v}.mp3" for v in (1, 2)]
    raise AssertionError(job.provider)


def linked(e: JSON) -> list[str]:
    """The URLs an embed links (an alert in its description, /job in its Results field)."""
    text = "\n".join([e.get("description", ""), *(f["value"] for f in e.get("fields", []))])
    return re.findall(r"\]\((\S+?)\)", plain(text))


async def test_completed_jobs_of_every_provider_show_their_picture_or_cover(start_bot):
    sim = make_sim(accounts=len(SPECS), providers=tuple(SPECS))
    h = await start_bot(sim=sim, providers=list(sim.providers))
    kinds = {
        "pixverse": ("video", "image"),
        "minimax": ("video", "image"),
        "kling": ("video", "image"),
        "dreamina": ("video", "image"),
    }
    done = [
        sim.start_job(p, kind=k, duration=INF) for p in sim.providers for k in kinds.get(p, (None,))
    ]
    others = {
        sim.start_job(p, duration=INF): w
        for p, w in zip(
            sim.providers,
            ("failed", "moderated", "cancelled", "failed", "moderated", "failed"),
            strict=True,
        )
    }
    await cycle(h)
    for job in done:
        sim.finish_job(job, "completed")
    for job, word in others.items():
        sim.finish_job(job, word)
    await cycle(h)
    assert await settled(h) == {"sent": len(done) + len(others)}
    shown = by_job(h)
    for job in done:
        e = shown[job]
        assert e["title"].endswith(" job completed")
        assert media(e) == expected_media(sim, job), job
        # the result itself stays a link, and so does every other image of a set
        assert linked(e) == expected_links(sim, job), job
    assert sum(media(e) != (None, None) for e in shown.values()) == len(done) - 1  # PixVerse video
    for job, word in others.items():
        assert shown[job]["title"].endswith(f" job {word}")
        assert media(shown[job]) == (None, None), (job, word)
    # one whole: a Dreamina image set, as Discord got it
    [dreamina_image] = [j for j in done if j.endswith(":dreamina") and "i-u" in j]
    assert whole(shown[dreamina_image]) == dreamina_image_alert(sim, dreamina_image)


def whole(e: JSON) -> JSON:
    """An embed as Discord got it, its markdown escapes taken out."""
    return {**e, "description": plain(e["description"])}


def dreamina_image_alert(sim: Simulator, job_id: str) -> JSON:
    """The alert embed for a completed simulated Dreamina image job, written out: its first
    image as the embed's image, all four linked (labels cut at 40 characters)."""
    job = sim.job(job_id)
    assert job is not None and job.finished_ts is not None
    at = datetime.fromtimestamp(job.finished_ts, UTC)
    images = [f"https://p9.dreamina.example/{job.submit_id}-{i}.jpeg" for i in range(4)]
    labels = [u.rsplit("/", 1)[1] for u in images]
    links = [f"[{label[:39]}…]({u})" for label, u in zip(labels, images, strict=True)]
    assert all(len(label) > 40 for label in labels)
    return {
        "type": "rich",
        "title": "Dreamina job completed",
        "description": "\n".join(
            [
                f"**Job** {job_id}",
                *([f"**Ref** {job.reply_ref}"] if job.reply_ref else []),
                f"**Account** {job.account}",
                "**kind** image",
                f"**model** {job.model}",
                f"**prompt** {job.prompt}",
                "**status** completed",
                *links,
                f"**When** <t:{int(at.timestamp())}:f> (<t:{int(at.timestamp())}:R>)",
            ]
        ),
        "color": 0x57F287,
        "timestamp": at.isoformat(),
        "image": {"url": images[0]},
        "footer": {"text": "job alert"},
        "flags": 0,
    }


async def test_job_shows_the_same_preview_and_none_for_a_failed_job(start_bot):
    sim = make_sim(providers=("minimax", "kling"))
    h = await start_bot(sim=sim, providers=["minimax", "kling"])
    video = sim.start_job("minimax", kind="video", duration=INF)
    image = sim.start_job("kling", kind="image", duration=INF)
    failed = sim.start_job("minimax", kind="image", duration=INF)
    await cycle(h)
    for job, word in ((video, "completed"), (image, "completed"), (failed, "failed")):
        sim.finish_job(job, word)
    await cycle(h)
    await settled(h)
    alerted = by_job(h)
    for provider, job in (("minimax", video), ("kling", image), ("minimax", failed)):
        [embed] = (await run(h, "job", {"provider": provider, "id": job}))["embeds"]
        assert embed["title"].endswith("completed" if job != failed else "failed")
        assert media(embed) == media(alerted[job])
        assert limit_problems([discord.Embed.from_dict(embed)]) == []
    assert media(alerted[video]) == expected_media(sim, video)
    assert media(alerted[image]) == expected_media(sim, image)
    assert media(alerted[failed]) == (None, None)


async def test_show_previews_false_leaves_links_only(start_bot):
    sim = make_sim(providers=("minimax",))
    h = await start_bot(sim=sim, providers=["minimax"], show_previews=False)
    jobs = [sim.start_job("minimax", kind=k, duration=INF) for k in ("video", "image")]
    await cycle(h)
    for job in jobs:
        sim.finish_job(job, "completed")
    await cycle(h)
    await settled(h)
    shown = by_job(h)
    for job in jobs:
        assert media(shown[job]) == (None, None)
        assert "](https://cdn.hailuo.example/" in shown[job]["description"]
        [embed] = (await run(h, "job", {"provider": "minimax", "id": job}))["embeds"]
        assert media(embed) == (None, None)


def minimax_body(job_id: str, **urls: str) -> JSON:
    key = "imageId" if "-image:" in job_id else "videoId"
    return {key: job_id, "status": 2, "statusLabel": "completed", "statusFinal": True, **urls}


async def test_hostile_or_absent_urls_stay_plain_links(start_bot):
    sim = make_sim(providers=("minimax",))
    h = await start_bot(sim=sim, providers=["minimax"])
    video = "https://cdn.hailuo.example/v.mp4"
    cases: dict[str, tuple[str, dict[str, str]]] = {
        "javascript": ("video", {"videoURL": video, "coverURL": "javascript:alert(1)"}),
        "http": ("video", {"videoURL": video, "coverURL": "http://cdn.hailuo.example/c.jpeg"}),
        "3000": ("video", {"videoURL": video, "coverURL": LONG}),
        "absent": ("video", {"videoURL": video}),
        "image": (
            "image",
            {
                "videoURL": "javascript:alert(1)",
                "downloadURL": "http://cdn.hailuo.example/d.png",
                "coverURL": LONG,
            },
        ),
    }
    jobs = {name: sim.start_job("minimax", kind=k, duration=INF) for name, (k, _) in cases.items()}
    await cycle(h)
    for name, job in jobs.items():
        sim.finish_job(job, "completed")
        sim.pin(f"/v1/minimax/videos/{job}", minimax_body(job, **cases[name][1]))
    await cycle(h)
    # every post was accepted: the fake Discord refuses a non-https or over-long embed image
    assert await settled(h) == {"sent": len(jobs)}
    assert all(r.status == 200 for r in h.fake.requests_matching(POSTS))
    shown = by_job(h)
    for name, job in jobs.items():
        e = shown[job]
        assert e["title"] == "MiniMax job completed"
        assert media(e) == (None, None), name
    assert f"[v.mp4]({video})" in shown[jobs["javascript"]]["description"]
    # the image's URLs: none fit to show or to link (the http one is linked, percent-safe)
    image = plain(shown[jobs["image"]]["description"])
    assert "[d.png](http://cdn.hailuo.example/d.png)" in image
    assert "1 link not shown (not http/https or too long)" in image
    assert "javascript" not in image
    [embed] = (await run(h, "job", {"provider": "minimax", "id": jobs["3000"]}))["embeds"]
    assert media(embed) == (None, None)


#: Each provider's kinds whose completed result is a picture, a cover, or (a PixVerse video)
#: links only.
KINDS: dict[str, tuple[str | None, ...]] = {
    "pixverse": ("video", "image"),
    "minimax": ("video", "image"),
    "dreamina": ("video", "image"),
    "kling": ("video", "image"),
    "runway": (None,),
    "mureka": (None,),
}


def upstream_body(sim: Simulator, job_id: str) -> tuple[str, Any]:
    """The path the bot reads `job_id` at, and the simulator's own body there."""
    job = sim.job(job_id)
    assert job is not None
    path = SPECS[job.provider].status_path.format(id=job_id, account=job.account or "")
    path, _, query = path.partition("?")
    if job.provider == "dreamina" and job.kind == "image":
        path = path.replace("/videos/", "/images/")
    params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
    reply = route(sim, "GET", path.split("/"), params)
    assert reply.status == 200, reply
    return "/" + path, reply.body


def spoil(value: Any, how: str) -> Any:
    """`value` with every https URL in it made hostile (`how`), or taken out (`absent`)."""
    if isinstance(value, dict):
        out = {k: spoil(v, how) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not ABSENT}
    if isinstance(value, list):
        return [v for v in (spoil(v, how) for v in value) if v is not ABSENT]
    if not (isinstance(value, str) and value.startswith("https://")):
        return value
    match how:
        case "javascript":
            return f"javascript:fetch('{value}')"
        case "http":
            return "http://" + value.removeprefix("https://")
        case "3000":
            return f"{value}?pad=" + "x" * (3000 - len(value) - len("?pad="))
    return ABSENT


ABSENT = object()


@pytest.mark.parametrize("how", ["javascript", "http", "3000", "absent"])
async def test_every_providers_hostile_or_absent_urls_are_never_pictures(start_bot, how):
    sim = make_sim(accounts=len(SPECS), providers=tuple(SPECS))
    h = await start_bot(sim=sim, providers=list(sim.providers))
    started = {p: [sim.start_job(p, kind=k, duration=INF) for k in ks] for p, ks in KINDS.items()}
    jobs = [job for each in started.values() for job in each]
    await cycle(h)
    for provider, each in started.items():  # a provider a tick: a message each, not summarised
        for job in each:
            sim.finish_job(job, "completed")
            path, body = upstream_body(sim, job)
            sim.pin(path, spoil(body, how))
        await cycle(h, provider)
    # every post accepted: the fake Discord refuses an embed image Discord would refuse
    assert await settled(h) == {"sent": len(jobs)}
    assert all(r.status == 200 for r in h.fake.requests_matching(POSTS))
    shown = by_job(h)
    for job in jobs:
        e = shown[job]
        assert e["title"].endswith(" job completed")
        assert media(e) == (None, None), (how, job)
        assert limit_problems([discord.Embed.from_dict(e)]) == []
        wanted = expected_links(sim, job)
        description = plain(e["description"])
        if how == "http":  # a plain link still: only a picture must be https
            assert linked(e) == ["http://" + u.removeprefix("https://") for u in wanted]
        elif how == "absent":
            assert linked(e) == [] and "not shown" not in description
        else:
            assert linked(e) == []
            assert f"{len(wanted)} link{'s' * (len(wanted) > 1)} not shown" in description
            assert "javascript" not in description and "x" * 100 not in description
    # /job reads the same bodies and shows no picture either
    for provider, each in started.items():
        for job in each:
            [embed] = (await run(h, "job", {"provider": provider, "id": job}))["embeds"]
            assert media(embed) == (None, None), (how, job)
            assert linked(embed) == linked(shown[job])


async def test_many_completions_show_a_few_pictures_then_the_summary(start_bot):
    sim = make_sim(providers=("minimax",))
    account = sim.accounts("minimax")[0].account
    sim.set_max_jobs("minimax", account, 60)
    h = await start_bot(sim=sim, providers=["minimax"])
    jobs = [sim.start_job("minimax", account, kind="video", duration=INF) for _ in range(40)]
    await cycle(h)
    for i, job in enumerate(jobs):
        sim.finish_job(job, "failed" if i < 5 else "completed")
    await cycle(h)
    assert await settled(h) == {"sent": 40}
    [message] = h.fake.messages(h.alert_channel)
    embeds = message["embeds"]
    assert limit_problems([discord.Embed.from_dict(e) for e in embeds]) == []
    pictured = embeds[:PREVIEWS_PER_MESSAGE]
    for job, e in zip(jobs[5:], pictured, strict=False):
        assert e["title"] == "MiniMax job completed"
        assert plain(e["description"]) == f"**Job** {job}"
        assert media(e) == expected_media(sim, job)
    rest = embeds[PREVIEWS_PER_MESSAGE:]
    assert all(media(e) == (None, None) for e in rest)
    assert [e["title"] for e in rest] == ["35 jobs completed on MiniMax, 5 failed"]
    assert rest[0]["footer"]["text"] == "40 alerts at once — summarised"


async def test_an_alert_posted_from_a_reply_url_callback_shows_the_picture_too(start_bot):
    sim = make_sim(providers=("minimax",))
    job = sim.start_job("minimax", kind="image", duration=INF, reply_url="https://ops.example/h")
    port = free_port()
    secret = "Pv7-" + "p" * 28
    h = await start_bot(
        sim=sim,
        providers=["minimax"],
        http_port=port,
        reply_secret=secret,
        poll_interval_seconds=60,
    )
    await h.tick()  # the bot sees the job running
    async with CallbackSender(sim, f"http://127.0.0.1:{port}/hooks/useapi/{secret}") as sender:
        sim.finish_job(job, "completed")
        await sender.idle()
        assert h.bot.receiver is not None
        await h.bot.receiver.drained()
        message = await h.fake.wait_for_message(h.alert_channel)
    assert [s.status for s in sender.sent] == [202]
    [embed] = message["embeds"]
    assert embed["title"] == "MiniMax job completed"
    assert media(embed) == expected_media(sim, job)
