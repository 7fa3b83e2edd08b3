"""Previews (issue 15, part 1) below the bot: what a previewable URL is, what each adapter picks
from useapi's result shapes (absent and hostile URLs too), the event and its stored row, and
the embeds (alert, /job, batches) within every limit. Through the real bot: test_previews_bot.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
from pydantic import SecretStr
from rich.console import Console

from bot import alerts
from bot.embeds import alert_batch, alert_embed, job_embed, limit_problems
from bot.embeds.preview import PREVIEWS_PER_MESSAGE
from bot.errors import PayloadError
from bot.events import Event, EventKind
from bot.models import PREVIEW_URL_MAX, Job, JobResult, Outcome, previewable
from bot.providers import dreamina, kling, minimax, mureka, pixverse, runway
from bot.sim import SimServer, Simulator
from bot.store.codecs import decode_event, encode_event
from bot.terminal import print_embeds
from bot.useapi import UseapiClient
from rig.simhttp import SIM_TOKEN

NOW = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
PNG = "https://cdn.example/a.png"
JPG = "https://cdn.example/cover.jpg"
#: The hostile URLs of the issue, and more: none is ever a picture.
LONG = "https://cdn.example/" + "a" * (3000 - len("https://cdn.example/"))
HOSTILE = [
    "javascript:alert(1)",
    "http://cdn.example/a.png",
    LONG,
    "data:image/png;base64,AAAA",
    "https://",
    "https:///a.png",
    " https://cdn.example/a.png",
    "https://cdn.example/a b.png",
    "https://cdn.example/a.png\n",
    'https://cdn.example/a".png',
    "https://cdn.example/<a>.png",
    "https://cdn.example/\ufffd.png",
    "//cdn.example/a.png",
    "ftp://cdn.example/a.png",
]
MINIMAX_VIDEO = "user:1-minimax:123456-video:7"
MINIMAX_IMAGE = "user:1-minimax:123456-image:8"
PIXVERSE_IMAGE = "user:1-pixverse:a@b.c-image:9"
PIXVERSE_VIDEO = "user:1-pixverse:a@b.c-video:9"
DREAMINA_VIDEO = "j0223140530123456789v-u12345-US:a@x.com:dreamina"
DREAMINA_IMAGE = "j0302140530123456789i-u12345-US:a@x.com:dreamina"
RUNWAY = "user:1-runwayml:a@b.c-task:0b5cb6c8"
MUREKA = "j0121061432017475905m-u777-a1234-bot:mureka"
TITLES = {"minimax": "MiniMax", "pixverse": "PixVerse", "dreamina": "Dreamina"}


# --------------------------------------------------------------------------- the one rule


def test_a_previewable_url_is_https_with_a_host_up_to_discords_limit() -> None:
    at_limit = "https://cdn.example/" + "a" * (PREVIEW_URL_MAX - len("https://cdn.example/"))
    assert len(at_limit) == PREVIEW_URL_MAX == 2048
    assert previewable(at_limit) == at_limit
    assert previewable(at_limit + "a") is None  # one over
    assert previewable(PNG) == PNG
    assert previewable("HTTPS://CDN.example/A.PNG") == "HTTPS://CDN.example/A.PNG"
    assert previewable("https://cdn.example:8443/a.png?x=1&y=%20#f") is not None


@pytest.mark.parametrize("url", [*HOSTILE, None, 5, ["https://cdn.example/a.png"], b"https://x"])
def test_anything_else_is_not_previewable(url: object) -> None:
    assert previewable(url) is None


# --------------------------------------------------------------------------- adapters


def minimax_body(**urls: Any) -> dict[str, Any]:
    return {"status": 2, "statusLabel": "completed", "statusFinal": True, "percent": 100, **urls}


def kling_body(content: str, resource: Any, cover: Any = None) -> dict[str, Any]:
    work: dict[str, Any] = {"contentType": content, "resource": {"resource": resource}}
    if cover is not None:
        work["cover"] = {"resource": cover}
    return {"status": 99, "status_name": "succeed", "status_final": True, "works": [work]}


def runway_body(*previews: Any) -> dict[str, Any]:
    artifact: dict[str, Any] = {"url": "https://runway.example/v.mp4"}
    if previews:
        artifact["previewUrls"] = list(previews)
    return {"status": "SUCCEEDED", "artifacts": [artifact]}


def mureka_body(*covers: Any) -> dict[str, Any]:
    songs = [
        {"song_id": str(i), "mp3_url": f"https://cdn.mureka.example/{i}.mp3", "cover": c}
        for i, c in enumerate(covers)
    ]
    return {"status": "completed", "response": {"songs": songs}}


def dreamina_body(response: dict[str, Any], kind: str = "video") -> dict[str, Any]:
    return {"type": kind, "status": "completed", "response": response}


def test_minimax_video_shows_its_cover_and_links_the_video() -> None:
    r = minimax.parse_video(
        minimax_body(videoURL="https://cdn/v.mp4", downloadURL="https://cdn/d.mp4", coverURL=JPG),
        MINIMAX_VIDEO,
    )
    assert (r.image, r.cover, r.urls) == (None, JPG, ("https://cdn/v.mp4", "https://cdn/d.mp4"))


def test_minimax_image_shows_the_first_of_download_and_preview_and_links_both() -> None:
    body = minimax_body(videoURL=PNG, downloadURL="https://cdn/d.png", coverURL=JPG)
    r = minimax.parse_video(body, MINIMAX_IMAGE)
    assert (r.kind, r.image, r.cover, r.urls) == ("image", PNG, None, (PNG, "https://cdn/d.png"))
    # the first is hostile: the next one that is fit is shown; the hostile one stays a link
    body = minimax_body(videoURL="javascript:alert(1)", downloadURL="https://cdn/d.png")
    r = minimax.parse_video(body, MINIMAX_IMAGE)
    assert (r.image, r.urls) == ("https://cdn/d.png", ("javascript:alert(1)", "https://cdn/d.png"))
    # neither: the resized preview (coverURL)
    body = minimax_body(videoURL="http://cdn/v.png", downloadURL=LONG, coverURL=JPG)
    assert minimax.parse_video(body, MINIMAX_IMAGE).image == JPG


@pytest.mark.parametrize("bad", [*HOSTILE[:4], "", None])
def test_minimax_hostile_or_absent_cover_is_none(bad: str | None) -> None:
    body = minimax_body(videoURL="https://cdn/v.mp4", **({} if bad is None else {"coverURL": bad}))
    r = minimax.parse_video(body, MINIMAX_VIDEO)
    assert (r.image, r.cover, r.urls) == (None, None, ("https://cdn/v.mp4",))


def test_minimax_cover_that_is_not_text_names_its_field() -> None:
    with pytest.raises(PayloadError) as info:
        minimax.parse_video(minimax_body(coverURL=["https://x"]), MINIMAX_VIDEO)
    assert info.value.field == "coverURL"


def test_pixverse_image_job_shows_its_url_a_video_only_links_it() -> None:
    body = {"video_status": 1, "video_status_name": "COMPLETED", "url": PNG}
    image = pixverse.parse_video(body, PIXVERSE_IMAGE)
    video = pixverse.parse_video(body | {"url": "https://cdn/v.mp4"}, PIXVERSE_VIDEO)
    assert (image.image, image.cover, image.urls) == (PNG, None, (PNG,))
    assert (video.image, video.cover, video.urls) == (None, None, ("https://cdn/v.mp4",))
    for bad in HOSTILE[:3]:
        r = pixverse.parse_video(body | {"url": bad}, PIXVERSE_IMAGE)
        assert (r.image, r.urls) == (None, (bad,))


def test_dreamina_video_cover_and_image_lists() -> None:
    r = dreamina.parse_video(
        dreamina_body({"videoUrl": "https://v16/v.mp4", "coverUrl": JPG}), DREAMINA_VIDEO
    )
    assert (r.kind, r.image, r.cover, r.urls) == ("video", None, JPG, ("https://v16/v.mp4",))
    images = [f"https://p9-sign.douyinpic.com/{i}.jpeg" for i in range(4)]
    r = dreamina.parse_video(
        dreamina_body({"images": [{"imageUrl": u, "width": 2560} for u in images]}, "image"),
        DREAMINA_IMAGE,
    )
    assert (r.kind, r.image, r.cover, r.urls) == ("image", images[0], None, tuple(images))
    # hostile first images: the first fit one; absent list, absent cover: nothing
    hostile = [{"imageUrl": bad} for bad in HOSTILE[:3]] + [{"imageUrl": images[1]}]
    r = dreamina.parse_video(dreamina_body({"images": hostile}, "image"), DREAMINA_IMAGE)
    assert (r.image, r.urls) == (images[1], (*HOSTILE[:3], images[1]))
    r = dreamina.parse_video(dreamina_body({"forecastCost": 125}), DREAMINA_VIDEO)
    assert (r.image, r.cover, r.urls) == (None, None, ())
    r = dreamina.parse_video(dreamina_body({"coverUrl": "http://p16/c.jpeg"}), DREAMINA_VIDEO)
    assert r.cover is None


def test_dreamina_images_that_are_not_a_list_name_their_field() -> None:
    with pytest.raises(PayloadError) as info:
        dreamina.parse_video(dreamina_body({"images": {"imageUrl": PNG}}, "image"), DREAMINA_IMAGE)
    assert info.value.field == "response.images"


async def test_dreamina_image_jobs_are_read_where_useapi_keeps_images() -> None:
    sim = Simulator(seed=1)
    sim.pin(
        f"/v1/dreamina/images/{DREAMINA_IMAGE}",
        dreamina_body({"images": [{"imageUrl": PNG}]}, "image"),
    )
    sim.pin(f"/v1/dreamina/videos/{DREAMINA_VIDEO}", dreamina_body({"coverUrl": JPG}))
    async with SimServer(sim) as server:
        async with UseapiClient(server.url, SecretStr(SIM_TOKEN), attempts=1) as client:
            provider = dreamina.Dreamina(client)
            image = await provider.job(DREAMINA_IMAGE)
            video = await provider.job(DREAMINA_VIDEO)
    assert (image.image, image.urls, video.cover) == (PNG, (PNG,), JPG)


def test_kling_video_cover_and_image_work() -> None:
    r = kling.parse_task(kling_body("video", "https://s21/v.mp4", JPG), "1")
    assert (r.kind, r.image, r.cover, r.urls) == ("video", None, JPG, ("https://s21/v.mp4",))
    r = kling.parse_task(kling_body("image", PNG), "1")
    assert (r.kind, r.image, r.cover, r.urls) == ("image", PNG, None, (PNG,))
    for bad in HOSTILE[:3]:
        r = kling.parse_task(kling_body("video", "https://s21/v.mp4", bad), "1")
        assert r.cover is None
        r = kling.parse_task(kling_body("image", bad), "1")
        assert (r.image, r.urls) == (None, (bad,))
    # an image task's several works: the first fit one shown, every one linked
    works = [
        {"contentType": "image", "resource": {"resource": u}}
        for u in ("http://s21/0.png", PNG, "https://s21/2.png")
    ]
    r = kling.parse_task(kling_body("image", PNG) | {"works": works}, "1")
    assert (r.image, r.urls) == (PNG, ("http://s21/0.png", PNG, "https://s21/2.png"))
    r = kling.parse_task(kling_body("video", "https://s21/v.mp4"), "1")  # no cover
    assert (r.image, r.cover) == (None, None)
    with pytest.raises(PayloadError) as info:
        kling.parse_task(
            kling_body("video", "https://s21/v.mp4") | {"works": [{"cover": "x"}]}, "1"
        )
    assert info.value.field == "works[0].cover"


def test_runway_artifact_preview_is_the_cover() -> None:
    r = runway.parse_task(runway_body(JPG, "https://runway.example/2.jpg"), RUNWAY)
    assert (r.image, r.cover, r.urls) == (None, JPG, ("https://runway.example/v.mp4",))
    assert runway.parse_task(runway_body(), RUNWAY).cover is None
    assert runway.parse_task(runway_body(*HOSTILE[:3]), RUNWAY).cover is None
    assert runway.parse_task(runway_body("http://x/1.jpg", JPG), RUNWAY).cover == JPG
    with pytest.raises(PayloadError) as info:
        runway.parse_task({"status": "SUCCEEDED", "artifacts": [{"previewUrls": JPG}]}, RUNWAY)
    assert info.value.field == "artifacts[0].previewUrls"


def test_mureka_song_cover_is_the_cover_and_the_songs_stay_links() -> None:
    r = mureka.parse_job(mureka_body(JPG, "https://cdn.mureka.example/2.png"), MUREKA)
    assert (r.kind, r.image, r.cover) == ("music", None, JPG)
    assert r.urls == ("https://cdn.mureka.example/0.mp3", "https://cdn.mureka.example/1.mp3")
    assert mureka.parse_job(mureka_body("javascript:x", JPG), MUREKA).cover == JPG
    assert mureka.parse_job(mureka_body(*HOSTILE[:3]), MUREKA).cover is None
    assert mureka.parse_job(mureka_body(None, None), MUREKA).cover is None


# --------------------------------------------------------------------------- events, rows


def result(outcome: Outcome = Outcome.COMPLETED, **fields: Any) -> JobResult:
    base = JobResult(
        "minimax", MINIMAX_VIDEO, outcome, account="123456", kind="video", image=None, cover=JPG
    )
    return replace(base, **fields)


def test_only_a_completed_jobs_event_carries_its_picture() -> None:
    job = Job("minimax", MINIMAX_VIDEO, "video", "123456")
    done = alerts.job_event("minimax", job, result(image=PNG), Outcome.COMPLETED, now=NOW)
    assert (done.image, done.cover) == (PNG, JPG)
    for outcome in (Outcome.FAILED, Outcome.MODERATED, Outcome.CANCELLED, Outcome.UNKNOWN):
        e = alerts.job_event("minimax", job, result(outcome, image=PNG), outcome, now=NOW)
        assert (e.image, e.cover) == (None, None), outcome
    # a result built elsewhere with a hostile URL: the event carries none
    e = alerts.job_event(
        "minimax", job, result(image="javascript:x", cover=LONG), Outcome.COMPLETED, now=NOW
    )
    assert (e.image, e.cover) == (None, None)
    assert alerts.job_event("minimax", job, None, Outcome.COMPLETED, now=NOW).cover is None


def event(n: int = 0, word: str = "completed", **fields: Any) -> Event:
    base = Event(
        key=f"job:minimax:{n}:{word}",
        kind=EventKind.JOB,
        provider="minimax",
        word=word,
        at=NOW,
        job_id=f"user:1-minimax:123456-video:{n}",
        account="123456",
        urls=("https://cdn/v.mp4",),
        cover=JPG,
    )
    return replace(base, **fields)


def test_stored_event_keeps_its_picture_and_old_or_hostile_rows_decode() -> None:
    e = event(image=PNG)
    assert decode_event(encode_event(e)) == e
    plain = event(cover=None)
    text = encode_event(plain)
    assert '"image"' not in text and '"cover"' not in text  # rows as before when there is none
    assert decode_event(text) == plain
    old = (
        '{"key":"job:minimax:1:completed","kind":"job","provider":"minimax","word":"completed",'
        '"at":"2026-11-30T20:00:00+00:00","job_id":"1","account":null,"detail":null,'
        '"urls":["https://cdn/v.mp4"],"extra":{}}'
    )
    assert (decode_event(old).image, decode_event(old).cover) == (None, None)
    hostile = text[:-1] + ',"image":"javascript:alert(1)","cover":["https://x"]}'
    assert (decode_event(hostile).image, decode_event(hostile).cover) == (None, None)


# --------------------------------------------------------------------------- embeds


def test_a_completed_alert_shows_the_cover_as_its_thumbnail() -> None:
    got = alert_embed(event(), titles=TITLES, redact=False).to_dict()
    assert got == {
        "type": "rich",
        "title": "MiniMax job completed",
        "description": "**Job** user:1-minimax:123456-video:0\n**Account** 123456\n"
        "[v.mp4](https://cdn/v.mp4)\n**When** <t:1796068800:f> (<t:1796068800:R>)",
        "color": got["color"],
        "timestamp": "2026-11-30T20:00:00+00:00",
        "footer": {"text": "job alert"},
        "thumbnail": {"url": JPG},
        "flags": 0,
    }
    pictured = alert_embed(event(image=PNG, cover=None), titles=TITLES, redact=False).to_dict()
    assert pictured["image"] == {"url": PNG} and "thumbnail" not in pictured


@pytest.mark.parametrize("word", ["failed", "moderated", "cancelled", "stuck", "unknown"])
def test_no_picture_for_any_other_word(word: str) -> None:
    got = alert_embed(event(word=word, image=PNG), titles=TITLES, redact=False).to_dict()
    assert "image" not in got and "thumbnail" not in got


def test_no_picture_when_previews_are_off_or_the_url_names_someone_under_redaction() -> None:
    off = alert_embed(event(image=PNG), titles=TITLES, redact=False, previews=False).to_dict()
    assert "image" not in off and "thumbnail" not in off
    named = "https://cdn.example/alice@studio.example/a.png"
    on = alert_embed(event(image=named), titles=TITLES, redact=False).to_dict()
    masked = alert_embed(event(image=named), titles=TITLES, redact=True).to_dict()
    assert on["image"] == {"url": named} and "image" not in masked
    assert "alice@" not in str(masked)
    # a hostile URL that reached an event anyway (built elsewhere) is not shown either
    for bad in HOSTILE:
        got = alert_embed(event(image=bad, cover=bad), titles=TITLES, redact=False).to_dict()
        assert "image" not in got and "thumbnail" not in got


def test_job_shows_the_same_preview_for_completed_jobs_only() -> None:
    done = job_embed(result(image=PNG), titles=TITLES, redact=False).to_dict()
    assert (done["image"], done["thumbnail"]) == ({"url": PNG}, {"url": JPG})
    for outcome in (Outcome.FAILED, Outcome.MODERATED, Outcome.CANCELLED, Outcome.RUNNING):
        got = job_embed(result(outcome, image=PNG), titles=TITLES, redact=False).to_dict()
        assert "image" not in got and "thumbnail" not in got, outcome
    off = job_embed(result(image=PNG), titles=TITLES, redact=False, previews=False).to_dict()
    assert "image" not in off and "thumbnail" not in off
    hostile = job_embed(result(image=LONG, cover="http://x/c.jpg"), titles=TITLES, redact=False)
    assert "image" not in hostile.to_dict() and "thumbnail" not in hostile.to_dict()


def pictures(embeds: list[discord.Embed]) -> list[int]:
    return [i for i, e in enumerate(embeds) if e.image.url or e.thumbnail.url]


def test_a_batch_of_single_embeds_pictures_only_the_first_few() -> None:
    events = [event(n) for n in range(PREVIEWS_PER_MESSAGE + 2)]
    got = alert_batch(events, titles=TITLES, redact=False)
    assert len(got) == len(events) and pictures(got) == list(range(PREVIEWS_PER_MESSAGE))
    # the first few that HAVE a picture: failed ones before them take no slot
    mixed = [event(n, "failed") for n in range(3)] + events
    got = alert_batch(mixed, titles=TITLES, redact=False)
    assert pictures(got) == [3, 4, 5, 6]
    assert pictures(alert_batch(events, titles=TITLES, redact=False, previews=False)) == []


def test_a_summarised_batch_opens_with_a_few_pictures_then_counts_every_event() -> None:
    events = [event(n, "failed") for n in range(10)] + [event(n) for n in range(10, 60)]
    got = alert_batch(events, titles=TITLES, redact=False)
    assert limit_problems(got) == []
    assert pictures(got) == list(range(PREVIEWS_PER_MESSAGE))
    for n, e in zip(range(10, 10 + PREVIEWS_PER_MESSAGE), got, strict=False):
        assert e.to_dict() == {
            "type": "rich",
            "title": "MiniMax job completed",
            "description": f"**Job** user:1-minimax:123456-video:{n}",
            "color": e.colour.value if e.colour else None,
            "timestamp": "2026-11-30T20:00:00+00:00",
            "thumbnail": {"url": JPG},
            "flags": 0,
        }
    [summary] = got[PREVIEWS_PER_MESSAGE:]
    assert summary.title == "50 jobs completed on MiniMax, 10 failed"
    assert summary.footer.text == "60 alerts at once — summarised"
    assert "**failed** (10)" in (summary.description or "")
    assert "**completed** (50)" in (summary.description or "")
    assert pictures(alert_batch(events, titles=TITLES, redact=False, previews=False)) == []
    assert pictures(alert_batch(events, titles=TITLES, redact=False, max_embeds=1)) == []


def test_summarised_pictures_stay_within_every_limit_with_hostile_ids_and_many_groups() -> None:
    long_id = "x*" * 700  # 1,400 characters of markdown to escape
    many = [
        replace(event(n), provider=f"p{n % 40}", key=f"k{n}", job_id=f"{long_id}{n}")
        for n in range(400)
    ]
    for max_embeds in (1, 2, 5, 10):
        got = alert_batch(many, titles={}, redact=False, max_embeds=max_embeds)
        assert limit_problems(got) == [] and len(got) <= max_embeds
        assert len(pictures(got)) == min(PREVIEWS_PER_MESSAGE, max_embeds - 1)


def test_the_demo_prints_each_pictures_url_under_its_alert() -> None:
    console = Console(record=True, width=200, force_terminal=False)
    embeds = [alert_embed(event(image=PNG), titles=TITLES, redact=False)]
    embeds.append(alert_embed(event(1, "failed", image=PNG), titles=TITLES, redact=False))
    print_embeds(console, embeds, now=NOW)
    out = console.export_text()
    assert f"🖼 image {PNG}" in out and f"🖼 thumbnail {JPG}" in out
    assert out.count("🖼") == 2  # none for the failed job


def test_the_readme_example_is_what_opsbot_builds_from_useapis_answer() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("<!-- preview-example -->\n```json\n", 1)[1].split("\n```", 1)[0]
    job_id, media = "user:1-minimax:412345-video:7301", "https://cdn.hailuo.example/video/7301"
    answer = minimax_body(
        videoId=job_id,
        videoURL=f"{media}.mp4",
        downloadURL=f"{media}-download.mp4",
        coverURL=f"{media}-cover.jpeg",
    )
    started = datetime(2026, 11, 30, 19, 56, 30, tzinfo=UTC)
    running = Job("minimax", job_id, "video", "412345", started=started)  # as the queue listed it
    result = minimax.parse_video(answer, job_id)
    e = alerts.job_event("minimax", running, result, result.outcome, now=NOW)
    got = alert_embed(e, titles=TITLES, redact=False).to_dict()
    assert json.loads(block) == got, json.dumps(got, indent=2, ensure_ascii=False)
