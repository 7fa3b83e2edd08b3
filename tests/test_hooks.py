"""The replyUrl receiver's pure parts: which job a body names (`bot.hooks.shape`), for every
provider's documented shape, and the settings that switch it on."""

from __future__ import annotations

from typing import Any

import pytest

from bot import providers as registry
from bot.hooks.shape import MAX_ID, Named, Unrecognised, as_id, find_job
from bot.providers.base import Provider
from bot.settings import MIN_REPLY_SECRET, ConfigError, load_settings
from bot.sim import ManualClock, Simulator
from bot.sim.callbacks import CallbackSender
from bot.sim.providers import SPECS
from bot.useapi import UseapiClient

PX = "user:1-pixverse:a@b.c-video:7"
MM = "user:1-minimax:123456-video:9"
DR = "j0223140530123456789v-u12345-US:a@x.com:dreamina"
RW = "user:1-runwayml:a@b.c-task:0b7e5f5e-1c3a-4f7e-9a55-2f0e3b1d6c11"
MU = "j1128123456789012345m-u777-a123-bot:mureka"


@pytest.fixture
def providers() -> dict[str, Provider]:
    client = UseapiClient("http://127.0.0.1:9", None)  # never called: shape reads no network
    return {name: registry.load(name)(client) for name in registry.known()}


# ----------------------------------------------------------------------- documented shapes

DOCUMENTED: list[tuple[str, Any, Named]] = [
    # PixVerse: the video object (`video_id`), also under `response` in older scripts
    (
        "pixverse video",
        {"video_id": PX, "video_status": 1, "video_status_name": "COMPLETED", "url": "x"},
        Named("pixverse", PX),
    ),
    (
        "pixverse scheduler item",
        {"id": PX, "type": "video", "replyRef": "r"},
        Named("pixverse", PX),
    ),
    ("pixverse response", {"response": {"video_id": PX}, "replyRef": "r"}, Named("pixverse", PX)),
    # MiniMax: videoId, or imageId for an image
    (
        "minimax video",
        {"id": "9", "videoId": MM, "status": 2, "percent": 100},
        Named("minimax", MM),
    ),
    (
        "minimax image",
        {"imageId": MM.replace("video", "image")},
        Named("minimax", MM.replace("video", "image")),
    ),
    ("dreamina", {"jobid": DR, "status": "completed", "code": 200}, Named("dreamina", DR)),
    # Kling: the task object, its id a JSON number
    (
        "kling task",
        {"status": 99, "status_final": True, "task": {"id": 123456789}},
        Named("kling", "123456789"),
    ),
    ("kling item", {"id": 123456789, "email": "a@b.c"}, Named("kling", "123456789")),
    ("runway", {"taskId": RW, "id": "uuid-of-runway", "status": "SUCCEEDED"}, Named("runway", RW)),
    ("mureka", {"jobid": MU, "status": "completed", "request": {}}, Named("mureka", MU)),
]


@pytest.mark.parametrize(("case", "body", "named"), DOCUMENTED, ids=[c[0] for c in DOCUMENTED])
def test_each_documented_shape_names_its_job(providers, case, body, named):
    assert find_job(body, providers) == named
    assert find_job(body, providers, named.provider) == named  # with the path's hint too


@pytest.mark.parametrize("provider", sorted(SPECS))
def test_the_simulators_callback_bodies_name_their_jobs(providers, provider):
    """What the simulator posts (each provider's job endpoint body) is recognised, with and
    without the provider in the path."""
    sim = Simulator(seed=4, accounts=6, jobs=0, clock=ManualClock(), churn=False)
    job_id = sim.start_job(provider, duration=float("inf"))
    sim.finish_job(job_id, "completed")
    body = CallbackSender(sim, "http://127.0.0.1:9").body(job_id)
    assert find_job(body, providers) == Named(provider, job_id)
    assert find_job(body, providers, provider) == Named(provider, job_id)


def test_a_kling_id_past_64_bits_is_kept_exact(providers):
    big = 2**64 + 12345
    assert find_job({"task": {"id": big}}, providers) == Named("kling", str(big))
    assert find_job({"task": {"id": 10**30}}, providers) == Named("kling", str(10**30))


# ----------------------------------------------------------------------- refusals

REFUSED: list[tuple[str, Any, str | None, str]] = [
    ("a list", [{"videoId": MM}], None, "the body is not a JSON object"),
    ("a string", "videoId", None, "the body is not a JSON object"),
    ("null", None, None, "the body is not a JSON object"),
    ("empty", {}, None, "no job id of an enabled provider in the body"),
    ("foreign id", {"id": "abc"}, None, "no job id of an enabled provider in the body"),
    ("float kling id", {"task": {"id": 1.5e20}}, None, "no job id of an enabled provider"),
    ("whole float", {"id": 12.0}, None, "no job id of an enabled provider in the body"),
    ("bool", {"id": True}, None, "no job id of an enabled provider in the body"),
    ("negative", {"id": -5}, None, "no job id of an enabled provider in the body"),
    ("two providers", {"videoId": MM, "jobid": DR}, None, "the body names jobs of several"),
    ("two jobs", {"videoId": MM, "imageId": MM + "0"}, None, "the body names more than one job"),
    ("unknown hint", {"videoId": MM}, "midjourney", "provider 'midjourney' is not enabled here"),
    ("hint, no id", {"jobid": DR}, "minimax", "no MiniMax job id in the body"),
]


@pytest.mark.parametrize(("case", "body", "hint", "why"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_body_naming_no_one_job_is_refused_in_words(providers, case, body, hint, why):
    with pytest.raises(Unrecognised) as info:
        find_job(body, providers, hint)
    assert str(info.value).startswith(why)


def test_the_same_id_under_two_keys_is_one_job(providers):
    assert find_job({"id": PX, "video_id": PX}, providers) == Named("pixverse", PX)


def test_only_enabled_providers_count(providers):
    enabled = {"pixverse": providers["pixverse"]}
    with pytest.raises(Unrecognised):
        find_job({"videoId": MM}, enabled)


def test_an_id_is_text_within_bounds():
    assert as_id("x" * MAX_ID) == "x" * MAX_ID  # exactly the limit
    assert as_id("x" * (MAX_ID + 1)) is None
    assert as_id("") is None
    assert as_id(" padded") is None
    assert as_id("bad\ufffdid") is None  # decoding replaced a character: not useapi's id
    assert as_id(0) == "0"
    assert as_id(["x"]) is None


# ----------------------------------------------------------------------- settings


def test_the_secret_has_a_minimum_length_and_never_shows():
    short = "a" * (MIN_REPLY_SECRET - 1)
    with pytest.raises(ConfigError) as info:
        load_settings(reply_secret=short, http_port=8080)
    assert str(info.value) == (
        f"REPLY_SECRET: must be at least {MIN_REPLY_SECRET} characters (it has "
        f"{MIN_REPLY_SECRET - 1}); for example: python -c 'import secrets; "
        "print(secrets.token_urlsafe(32))'"
    )
    exact = "b" * MIN_REPLY_SECRET
    settings = load_settings(reply_secret=exact, http_port=8080)
    assert settings.reply_secret is not None
    assert settings.reply_secret.get_secret_value() == exact
    assert settings.receiver_on
    assert exact not in repr(settings)


@pytest.mark.parametrize(
    "secret", ["c" * 30 + "/x", "c" * 30 + " y", "c" * 30 + "é", "c" * 30 + "?q"]
)
def test_a_secret_that_needs_escaping_in_a_url_is_refused(secret):
    with pytest.raises(ConfigError) as info:
        load_settings(reply_secret=secret, http_port=8080)
    assert str(info.value) == (
        "REPLY_SECRET: may hold only letters, digits and - _ . ~ (it stands in the receiver's URL)"
    )
    assert secret not in str(info.value)


def test_the_receiver_is_on_only_with_a_port_and_a_secret():
    secret = "d" * 32
    assert not load_settings(reply_secret=secret, http_port=0).receiver_on
    assert not load_settings(reply_secret="", http_port=8080).receiver_on
    assert not load_settings(http_port=8080).receiver_on
    assert load_settings(reply_secret=f"  {secret}  ", http_port=8080).receiver_on
