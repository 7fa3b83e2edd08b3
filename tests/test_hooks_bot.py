"""The replyUrl receiver end to end: the real bot (started as `opsbot run` starts it), the
simulator, the fake Discord, and callbacks POSTed over loopback, by the simulator's own
sender (`bot.sim.callbacks`) or by hand. Ticks are the tests' (`POLL_INTERVAL_SECONDS=60`):
an alert that reaches Discord before a tick came through the callback."""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from bot.history import Finished
from bot.hooks import Named, Receiver, ReceiverConfig
from bot.hooks.web import MAX_BODY
from bot.sim.callbacks import CallbackSender
from rig.botharness import Harness, command, make_sim, settled
from rig.process import free_port
from rig.received import POSTS, alerts, count

T0 = datetime(2026, 1, 1, tzinfo=UTC)

SECRET = "Sx7-" + "q" * 28  # 32 characters
USER = 1200000000000000321
INF = float("inf")
JSON = dict[str, Any]


async def start(start_bot: Any, sim: Any = None, **settings: Any) -> tuple[Harness, str]:
    port = free_port()
    h = await start_bot(
        sim=sim or make_sim(),
        http_port=port,
        reply_secret=SECRET,
        poll_interval_seconds=60,
        **settings,
    )
    return h, f"http://127.0.0.1:{port}/hooks/useapi/{SECRET}"


async def post(url: str, body: Any = None, *, content: bytes | None = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        if content is not None:
            return await client.post(url, content=content)
        return await client.post(url, json=body)


def receiver(h: Harness) -> Receiver:
    assert h.bot.receiver is not None
    return h.bot.receiver


def job_alerts(h: Harness, job_id: str) -> list[tuple[str, str]]:
    return [(t, d) for t, d, _ in alerts(h.fake) if job_id in d]


# ----------------------------------------------------------------------- the happy path


async def test_a_callback_posts_the_alert_before_any_tick(start_bot):
    sim = make_sim()
    hook = "https://ops.example/hooks/useapi/x"  # its own replyUrl; the person who asked
    job = sim.start_job("minimax", duration=INF, reply_url=hook, reply_ref=f"discord:{USER}")
    h, url = await start(start_bot, sim)
    await h.tick()  # the bot sees the job running
    ticks = {n: h.bot.state(n).ticks for n in h.bot.watchers}
    async with CallbackSender(sim, url) as sender:
        sim.finish_job(job, "completed")
        await sender.idle()
        await receiver(h).drained()
        message = await h.fake.wait_for_message(h.alert_channel)
    assert [s.status for s in sender.sent] == [202]
    assert {n: h.bot.state(n).ticks for n in h.bot.watchers} == ticks  # no tick did it
    (embed,) = message["embeds"]
    n = job.rsplit(":", 1)[1]
    account = job.split("-minimax:")[1].split("-video:")[0]
    assert embed["title"] == "MiniMax job completed"
    lines = embed["description"].split("\n")
    assert lines[:7] == [
        f"**Job** {job}",
        f"**For** <@{USER}>",
        f"**Account** {account}",
        "**kind** video",
        "**status** 2 completed",
        "**percent** 100",
        lines[6],  # the start, as the poller's snapshot gave it
    ]
    assert lines[6].startswith("**started** ")
    assert lines[7:9] == [
        f"[{n}\\.mp4](https://cdn.hailuo.example/video/{n}.mp4)",
        f"[{n}-download.mp4](https://cdn.hailuo.example/video/{n}-download.mp4)",
    ]
    assert lines[9].startswith("**When** <t:")
    # the person who asked is mentioned, and only they can be pinged
    post = h.fake.requests_matching(POSTS)[-1].json
    assert post["content"] == f"<@{USER}>"
    assert post["allowed_mentions"] == {"parse": [], "users": [USER]}
    # the poller, a tick later, neither asks about it again nor posts it again
    asked = sim.request_count(r"/v1/minimax/videos/")
    await h.tick()
    await settled(h)
    assert sim.request_count(r"/v1/minimax/videos/") == asked
    assert job_alerts(h, job) == [("MiniMax job completed", job_alerts(h, job)[0][1])]
    assert list(receiver(h).found) == [(receiver(h).found[0][0], "announced")]
    # recorded in the history once, as the callback told it, the job still listed till then
    (record,) = await h.bot.store.finished()
    # (the run time is from the simulator's ManualClock start to the bot's real clock, and
    # `at` the bot's clock: their own checks; the simulator's MiniMax gives no model)
    assert record.run_seconds is not None and record.run_seconds >= 0
    assert abs(datetime.now(UTC) - record.at) < timedelta(minutes=1)
    assert replace(record, run_seconds=None, at=T0) == Finished(
        "minimax", job, account, "video", None, "completed", None, "callback", T0, None
    )


@pytest.mark.parametrize("provider", ["pixverse", "dreamina"])
async def test_each_default_provider_and_the_path_hint(start_bot, provider):
    sim = make_sim()
    first, second = (sim.start_job(provider, duration=INF) for _ in range(2))
    h, url = await start(start_bot, sim)
    await h.tick()
    sender = CallbackSender(sim, url)
    for job, target in ((first, url), (second, f"{url}/{provider}")):
        sim.finish_job(job, "failed")
        answer = await post(target, sender.body(job))
        assert (answer.status_code, answer.json()) == (
            202,
            {"accepted": True, "queued": True, "provider": provider, "job": job},
        )
    await receiver(h).drained()
    await settled(h)
    for job in (first, second):
        assert len(job_alerts(h, job)) == 1
        assert job_alerts(h, job)[0][0].endswith("job failed")


# ----------------------------------------------------------------------- bad requests


async def test_every_bad_request_gets_its_answer_and_nothing_is_posted(start_bot, caplog):
    caplog.set_level(logging.DEBUG)
    sim = make_sim()
    running = sim.start_job("minimax", duration=INF)
    h, url = await start(start_bot, sim)
    await h.tick()
    base = url.removesuffix(SECRET)
    ghost = running.rsplit(":", 1)[0] + ":999999999"  # shaped right, unknown to useapi

    wrong = await post(base + SECRET[:-1] + "X", {"videoId": running})
    nowhere = await post(base.removesuffix("useapi/") + "nothing", {"videoId": running})
    assert (wrong.status_code, wrong.text) == (404, "404: Not Found")
    assert (wrong.status_code, wrong.text) == (nowhere.status_code, nowhere.text)
    assert (await post(base + SECRET + SECRET, {"videoId": running})).status_code == 404
    assert (await post(base, {"videoId": running})).status_code == 404

    pad = b'{"videoId": "' + running.encode() + b'", "pad": "'
    exact = pad + b"x" * (MAX_BODY - len(pad) - 2) + b'"}'
    assert len(exact) == MAX_BODY
    assert (await post(url, content=exact)).status_code == 202  # exactly 1 MiB is taken
    over = pad + b"x" * (MAX_BODY - len(pad) - 1) + b'"}'
    too_large = await post(url, content=over)
    assert (too_large.status_code, too_large.json()) == (
        413,
        {"error": f"the body is over {MAX_BODY} bytes"},
    )

    async def chunks() -> Any:  # no Content-Length: the limit still holds
        for _ in range(MAX_BODY // 65536 + 1):
            yield b" " * 65536

    async with httpx.AsyncClient(timeout=10) as client:
        chunked = await client.post(url, content=chunks())
    assert chunked.status_code == 413

    for garbage in (b"", b"not json", b'{"videoId": ', b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000):
        answer = await post(url, content=garbage)
        assert (answer.status_code, answer.json()) == (400, {"error": "the body is not JSON"})

    for body, why in (
        ({}, "no job id of an enabled provider in the body"),
        ([running], "the body is not a JSON object"),
        ({"videoId": running, "jobid": "j1v-u1-US:a@b.c:dreamina"}, "the body names jobs of"),
    ):
        answer = await post(url, body)
        assert answer.status_code == 422
        assert answer.json()["error"].startswith(why)
    unknown_hint = await post(f"{url}/kling", {"task": {"id": 5}})
    assert (unknown_hint.status_code, unknown_hint.json()) == (
        422,
        {"error": "provider 'kling' is not enabled here"},
    )

    # useapi does not know the job: accepted (it is only a hint), logged, nothing posted
    caplog.clear()
    answer = await post(url, {"videoId": ghost})
    assert answer.status_code == 202
    await receiver(h).drained()
    assert [f for _, f in receiver(h).found][-1] == "unseen"  # MiniMax: 404 is no record
    assert f"minimax: callback for {ghost}: useapi has no record of it; not announced" in [
        r.getMessage() for r in caplog.records
    ]
    # a forged "completed" for a job that is still running changes nothing
    answer = await post(url, {"videoId": running, "status": 2, "statusFinal": True})
    assert answer.status_code == 202
    await receiver(h).drained()
    await settled(h)
    assert alerts(h.fake) == []
    # (the test's own client, httpx, logs the URL it posts to: that is useapi's side)
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert ours and all(SECRET not in r.getMessage() for r in ours)


async def test_the_receiver_is_off_without_a_secret(start_bot):
    port = free_port()
    h = await start_bot(http_port=port)
    assert h.bot.receiver is None
    answer = await post(f"http://127.0.0.1:{port}/hooks/useapi/{SECRET}", {"videoId": "x"})
    assert answer.status_code == 404
    async with httpx.AsyncClient() as client:  # the rest of the side door is still there
        assert (await client.get(f"http://127.0.0.1:{port}/metrics")).status_code == 200


# ----------------------------------------------------------------------- exactly once


async def test_duplicates_and_a_restart_post_once(start_bot, tmp_path):
    sim = make_sim()
    job = sim.start_job("pixverse", duration=INF)
    db = tmp_path / "once.db"
    h, url = await start(start_bot, sim, db=db)
    await h.tick()
    sim.finish_job(job, "completed")
    body = CallbackSender(sim, url).body(job)
    answers = await asyncio.gather(*(post(url, body) for _ in range(10)))
    assert {a.status_code for a in answers} == {202}
    await receiver(h).drained()
    await settled(h)
    found = [f for _, f in receiver(h).found]
    assert found.count("announced") == 1
    assert set(found) <= {"announced", "duplicate"}
    # ten callbacks, at most two re-reads: one in flight, one more after it
    assert sim.request_count(r"/v2/pixverse/videos/") <= 2
    assert count(h.fake, "completed", job) == 1

    # the same callback after a restart (or at another replica) on the same database
    await h.stop()
    await h.server.stop()
    h2, url2 = await start(start_bot, sim, db=db)
    assert (await post(url2, body)).status_code == 202
    await receiver(h2).drained()
    await h2.tick()
    await settled(h2)
    assert [f for _, f in receiver(h2).found] == ["duplicate"]
    assert count(h2.fake, "completed", job) == 1


async def test_a_callback_racing_the_poller_posts_once(start_bot):
    sim = make_sim()
    jobs = [sim.start_job("minimax", duration=INF) for _ in range(6)]
    h, url = await start(start_bot, sim)
    await h.tick()
    sender = CallbackSender(sim, url)
    for job in jobs:
        sim.finish_job(job, "moderated")
    # each job: its callback and a tick at once, in both orders of starting them
    for i, job in enumerate(jobs):
        call = post(url, sender.body(job))
        if i % 2:
            await asyncio.gather(call, h.tick())
        else:
            await asyncio.gather(h.tick(), call)
        await receiver(h).drained()
    await h.tick()
    await settled(h)
    assert {job: count(h.fake, "moderated", job) for job in jobs} == dict.fromkeys(jobs, 1)
    finished = await h.bot.store.finished()  # each once, whichever path came first
    assert sorted(f.job_id for f in finished) == sorted(jobs)
    assert {f.outcome for f in finished} == {"moderated"}


async def test_a_callback_while_discord_fails_is_posted_once_it_is_back(start_bot):
    sim = make_sim()
    job = sim.start_job("dreamina", duration=INF)
    h, url = await start(start_bot, sim)
    await h.tick()
    h.fake.fail(POSTS, 503, count=None)  # no retry inside discord.py: the outbox retries
    async with CallbackSender(sim, url) as sender:
        sim.finish_job(job, "completed")
        await sender.idle()
    await receiver(h).drained()
    await h.deliver()
    key = f"job:dreamina:{job}:completed"
    row = await h.bot.store.outbox_row(key)
    assert row is not None and row["state"] == "pending" and row["attempts"] >= 1
    assert "503" in (row["last_error"] or "")
    assert alerts(h.fake) == []
    await h.tick()  # the poller sees it gone meanwhile: it neither asks nor queues it again
    assert (await h.bot.store.outbox_counts()) == {"pending": 1}
    h.fake.clear_faults()
    later = h.bot.clock() + timedelta(minutes=11)  # past any backoff
    await h.delivery.deliverer.run_once(later)
    await h.deliver()
    assert count(h.fake, "completed", job) == 1
    assert (await h.bot.store.outbox_row(key) or {})["state"] == "sent"
    await h.delivery.deliverer.run_once(later + timedelta(hours=1))
    assert count(h.fake, "completed", job) == 1


# ----------------------------------------------------------------------- progress


async def test_a_progress_callback_shows_in_queue_and_posts_nothing(start_bot):
    sim = make_sim()
    job = sim.start_job("minimax", duration=200.0, reply_url="https://x.example", reply_ref="r-1")
    h, url = await start(start_bot, sim)
    await h.tick()
    sim.advance(84)  # 84 of 200 s: MiniMax says 42 %
    async with CallbackSender(sim, url) as sender:
        sender.progress(job)
        await sender.idle()
    await receiver(h).drained()
    assert [f for _, f in receiver(h).found] == ["progress"]
    assert h.bot.state("minimax").progress == {job: 42}
    body = await command(h, "queue", {"provider": "minimax"})
    text = "\n".join(f["value"] for f in body["data"]["embeds"][0]["fields"])
    assert text.endswith(" · 42 % · ref r-1")
    await settled(h)
    assert alerts(h.fake) == []
    # once it has ended and left, its progress goes with it
    sim.finish_job(job, "completed")
    await h.tick()
    assert h.bot.state("minimax").progress == {}


async def test_metrics_count_callbacks_by_provider_and_reason(start_bot):
    sim = make_sim()
    job = sim.start_job("minimax", duration=INF)
    h, url = await start(start_bot, sim)
    await h.tick()
    metrics_url = url.split("/hooks/")[0] + "/metrics"

    async def read() -> dict[str, float]:
        async with httpx.AsyncClient() as client:
            text = (await client.get(metrics_url)).text
        return {
            line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("opsbot_callback")
        }

    before = await read()
    await post(url, {"videoId": job})
    await post(url.replace(SECRET, "x" * 32), {"videoId": job})
    await post(url, content=b"nope")
    await post(url, {})
    await receiver(h).drained()
    after = await read()

    def grew(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew('opsbot_callbacks_received_total{provider="minimax"}') == 1
    for reason in ("secret", "not_json", "unknown_shape"):
        assert grew(f'opsbot_callbacks_rejected_total{{reason="{reason}"}}') == 1
    # the job runs (0 % done): its progress is what the re-read found
    assert grew('opsbot_callback_rereads_total{provider="minimax",result="progress"}') == 1


# ----------------------------------------------------------------------- floods


async def test_the_answer_does_not_wait_for_the_re_read(start_bot):
    sim = make_sim()
    job = sim.start_job("minimax", duration=INF)
    h, url = await start(start_bot, sim)
    await h.tick()
    sim.finish_job(job, "completed")
    hold = sim.faults.set(r"/v1/minimax/videos/", "latency", seconds=30)
    answer = await post(url, {"videoId": job})
    assert answer.status_code == 202
    assert list(receiver(h).found) == []  # answered while useapi still thinks
    sim.faults.remove(hold.id)
    assert alerts(h.fake) == []


async def test_a_flood_is_bounded_and_drops_with_a_metric(start_bot):
    sim = make_sim()
    h, _ = await start(start_bot, sim)
    receiver = Receiver(  # not started: nothing takes from its queue
        lambda: h.bot.providers,
        h.bot.store,
        ReceiverConfig(queue_cap=3),
        state=lambda _: None,
        wake=lambda: None,
    )

    def dropped() -> float:
        value = REGISTRY.get_sample_value("opsbot_callbacks_rejected_total", {"reason": "overflow"})
        return value or 0.0

    before = dropped()
    jobs = [Named("minimax", f"user:1-minimax:1-video:{n}") for n in range(5)]
    assert [receiver.offer(j) for j in jobs[:3]] == [True, True, True]
    assert receiver.offer(jobs[0]) is True  # already waiting: the same re-read serves both
    assert [receiver.offer(j) for j in jobs[3:]] == [False, False]
    assert receiver.waiting == 3
    assert dropped() - before == 2


# ----------------------------------------------------------------------- opsbot simulate


async def test_opsbot_simulate_posts_callbacks_to_reply_to(tmp_path):
    """`opsbot simulate --reply-to URL` as a process: a job ended through its control API is
    POSTed to URL with its job endpoint's body; the URL (it holds a secret) is not printed."""
    got: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await got.put((request.path, await request.json()))
        return web.json_response({"accepted": True}, status=202)

    app = web.Application()
    app.router.add_post("/hooks/useapi/{secret}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    reply_to = f"http://127.0.0.1:{port}/hooks/useapi/{SECRET}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "bot", "simulate", "--port", "0", "--token", "tok", "--jobs", "12"),
        *("--reply-to", reply_to),
        stdout=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert "callbacks to the replyUrl given" in line and SECRET not in line
        url = line.split("listening on ")[1].split()[0]
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer tok"}) as c:
            (item, *_) = (await c.get("/v2/pixverse/scheduler/")).json()
            finished = await c.post("/_sim/finish", json={"job_id": item["id"]})
            assert finished.status_code == 200
            path, body = await asyncio.wait_for(got.get(), 30)
            assert body == (await c.get(f"/v2/pixverse/videos/{quote(item['id'], safe='')}")).json()
        assert path == f"/hooks/useapi/{SECRET}"
        assert body["video_id"] == item["id"] and body["video_status_final"] is True
    finally:
        proc.terminate()
        await proc.wait()
        await runner.cleanup()
