"""End-to-end checks that the REAL discord.py works against rig.fakediscord."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from rig.fakediscord import FakeDiscord, WaitTimeout

TOKEN = "fake-token.abc.def"


class ClickView(discord.ui.View):
    def __init__(self, clicked: asyncio.Event) -> None:
        super().__init__(timeout=30)
        self.clicked = clicked
        self.clicker: int | None = None

    @discord.ui.button(label="Approve", style=discord.ButtonStyle.success, custom_id="approve")
    async def approve(
        self, interaction: discord.Interaction, button: discord.ui.Button[ClickView]
    ) -> None:
        self.clicker = interaction.user.id
        button.disabled = True
        await interaction.response.edit_message(content="approved", view=self)
        self.clicked.set()


class TinyBot(commands.Bot):
    def __init__(self, guild_id: int) -> None:
        intents = discord.Intents.default()  # no privileged intents
        super().__init__(
            command_prefix=commands.when_mentioned, intents=intents, guild_ready_timeout=0.05
        )
        self.guild_obj = discord.Object(guild_id)
        self.clicked = asyncio.Event()
        self.view: ClickView | None = None
        self.resumed = asyncio.Event()
        self._register()

    def _register(self) -> None:
        guild = self.guild_obj

        @self.tree.command(name="echo", description="Echo text back", guild=guild)
        @app_commands.describe(text="what to say", mode="how to say it")
        @app_commands.choices(
            mode=[
                app_commands.Choice(name="loud", value="loud"),
                app_commands.Choice(name="quiet", value="quiet"),
            ]
        )
        async def echo(
            interaction: discord.Interaction,
            text: str,
            mode: app_commands.Choice[str] | None = None,
        ) -> None:
            out = text.upper() if mode and mode.value == "loud" else text
            embed = discord.Embed(title="echo", description=out)
            await interaction.response.send_message(content=out, embed=embed)

        @self.tree.command(name="slow", description="Deferred reply", guild=guild)
        async def slow(interaction: discord.Interaction, count: int) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.edit_original_response(content=f"done x{count}")
            original = await interaction.original_response()  # GET @original
            await interaction.followup.send(f"original said {original.content!r}", ephemeral=True)

        @self.tree.command(name="approve", description="Reply with a button", guild=guild)
        async def approve(interaction: discord.Interaction) -> None:
            self.view = ClickView(self.clicked)
            await interaction.response.send_message("please approve", view=self.view)

        jobs = app_commands.Group(name="jobs", description="job ops", guild_ids=[guild.id])

        @jobs.command(name="cancel", description="cancel a job")
        async def cancel(
            interaction: discord.Interaction, job_id: str, force: bool = False
        ) -> None:
            await interaction.response.send_message(
                f"cancel {job_id} force={force}", ephemeral=True
            )

        @cancel.autocomplete("job_id")
        async def job_ac(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [
                app_commands.Choice(name=f"{current}-{i}", value=f"{current}-{i}") for i in range(2)
            ]

        self.tree.add_command(jobs)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before every non-initial IDENTIFY; the fake has no
        # identify rate limit, so skip it (keeps re-IDENTIFY tests fast).
        return None

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=self.guild_obj)

    async def on_resumed(self) -> None:
        self.resumed.set()


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord) -> AsyncIterator[TinyBot]:
    b = TinyBot(fake_discord.guild_id)
    await b.login(TOKEN)
    task = asyncio.create_task(b.connect())
    try:
        await asyncio.wait_for(b.wait_until_ready(), 5)
        await fake_discord.wait_ready()
        yield b
    finally:
        await b.close()
        await asyncio.wait_for(task, 5)


def completion(bot: commands.Bot, name: str) -> asyncio.Future[discord.Interaction]:
    """Resolves when the bot has finished running slash command ``name``.

    The fake sees a callback as soon as discord.py sends it, but discord.py only registers a
    reply's View after reading the callback response; clicking before that is a (superhuman)
    race, so tests that click wait for the bot side first.
    """
    fut: asyncio.Future[discord.Interaction] = asyncio.get_running_loop().create_future()

    async def listener(interaction: discord.Interaction, command: object) -> None:
        if getattr(command, "name", None) == name and not fut.done():
            fut.set_result(interaction)
            bot.remove_listener(listener, "on_app_command_completion")

    bot.add_listener(listener, "on_app_command_completion")
    return fut


def channel(bot: TinyBot, fake: FakeDiscord) -> discord.TextChannel:
    ch = bot.get_channel(fake.channel_ids[0])
    assert isinstance(ch, discord.TextChannel)
    return ch


async def test_login_ready_and_guild(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    assert bot.user is not None and bot.user.id == fake_discord.bot_user_id and bot.user.bot
    assert bot.application_id == fake_discord.app_id
    guild = bot.get_guild(fake_discord.guild_id)
    assert guild is not None and not guild.unavailable
    assert {c.id for c in guild.text_channels} == set(fake_discord.channel_ids)
    assert guild.me is not None and guild.me.guild_permissions.administrator
    assert guild.default_role.id == guild.id
    routes = [r.route for r in fake_discord.requests]
    assert routes[:2] == ["GET /users/@me", "GET /oauth2/applications/@me"]
    conn = fake_discord.gateway_connections[0]["query"]
    assert conn["v"] == "10" and conn["encoding"] == "json"
    identify = next(f for f in fake_discord.gateway_frames if f.op == 2)
    assert identify.d["token"] == TOKEN and identify.d["intents"] == discord.Intents.default().value


async def test_command_sync_recorded(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    payload = fake_discord.synced_commands(fake_discord.guild_id)
    assert payload is not None
    names = {c["name"] for c in payload}
    assert names == {"echo", "slow", "approve", "jobs"}
    echo = next(c for c in payload if c["name"] == "echo")
    mode = next(o for o in echo["options"] if o["name"] == "mode")
    assert [c["value"] for c in mode["choices"]] == ["loud", "quiet"]
    stored = fake_discord.commands(fake_discord.guild_id)
    assert all(c["id"].isdigit() and c["guild_id"] == str(fake_discord.guild_id) for c in stored)
    # a second sync keeps ids stable, like Discord does
    again = await bot.tree.sync(guild=bot.guild_obj)
    assert {c.id for c in again} == {int(c["id"]) for c in stored}
    assert fake_discord.synced_commands() is None  # no global sync happened


async def test_invoke_command_response(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    done = completion(bot, "echo")
    inter = await fake_discord.invoke("echo", {"text": "hello", "mode": "loud"}, user_id=42)
    body = await fake_discord.wait_for_interaction_response(inter)
    assert body["type"] == 4
    assert body["data"]["content"] == "HELLO"
    assert body["data"]["embeds"][0]["description"] == "HELLO"
    handled = await asyncio.wait_for(done, 5)
    assert handled.id == inter.id and handled.user.id == 42
    original = fake_discord.original_message(inter)
    assert original is not None and original["content"] == "HELLO"
    assert original["interaction_metadata"]["user"]["id"] == "42"
    assert fake_discord.interaction_responses == [body]


async def test_deferred_then_original_edit(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    inter = await fake_discord.invoke("slow", {"count": 3})
    body = await fake_discord.wait_for_interaction_response(inter)
    assert body["type"] == 5
    edit = await fake_discord.wait_for_original_edit(inter)
    assert edit["content"] == "done x3"
    original = fake_discord.original_message(inter)
    assert original is not None and original["content"] == "done x3"
    assert not original["flags"] & 128  # no longer "thinking"
    # the option was typed from the synced schema (integer)
    assert inter.payload["data"]["options"] == [{"name": "count", "type": 4, "value": 3}]
    followup = await fake_discord.wait_for_followup(inter)
    assert followup["content"] == "original said 'done x3'" and followup["flags"] & 64
    assert len(inter.followup_message_ids) == 1


async def test_subcommand_and_autocomplete(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    ac = await fake_discord.autocomplete(
        "jobs", {"job_id": "ab"}, focused="job_id", subcommand="cancel"
    )
    choices = await fake_discord.wait_for_interaction_response(ac)
    assert choices["type"] == 8
    assert [c["value"] for c in choices["data"]["choices"]] == ["ab-0", "ab-1"]

    inter = await fake_discord.invoke("jobs", {"job_id": "j1", "force": True}, subcommand="cancel")
    body = await fake_discord.wait_for_interaction_response(inter)
    assert body["data"]["content"] == "cancel j1 force=True"
    assert body["data"]["flags"] & 64  # ephemeral


async def test_channel_message_post_edit_delete(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    ch = channel(bot, fake_discord)
    msg = await ch.send("job started", embed=discord.Embed(title="job"))
    assert msg.id and msg.channel.id == ch.id and msg.author.id == fake_discord.bot_user_id
    await msg.edit(content="job finished")
    posts = fake_discord.messages(ch.id)
    assert [m["content"] for m in posts] == ["job finished"]
    assert posts[0]["edited_timestamp"] is not None and posts[0]["embeds"][0]["title"] == "job"
    fetched = await ch.fetch_message(msg.id)
    assert fetched.content == "job finished"
    await msg.delete()
    assert fake_discord.is_deleted(msg.id)
    with pytest.raises(discord.NotFound) as exc:
        await ch.fetch_message(msg.id)
    assert exc.value.code == 10008


async def test_multipart_upload(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    import io

    ch = channel(bot, fake_discord)
    msg = await ch.send("report", file=discord.File(io.BytesIO(b"abc"), filename="r.txt"))
    assert (
        msg.attachments and msg.attachments[0].filename == "r.txt" and msg.attachments[0].size == 3
    )
    rec = fake_discord.requests_matching(r"POST /channels/\d+/messages")[-1]
    assert rec.json["content"] == "report" and rec.files[0]["data"] == b"abc"


async def test_component_click_reaches_view(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    done = completion(bot, "approve")
    inter = await fake_discord.invoke("approve")
    await asyncio.wait_for(done, 5)  # the View is registered once the command has finished
    message = fake_discord.original_message(inter)
    assert message is not None
    click = await fake_discord.click(message, "approve", user_id=77)
    await asyncio.wait_for(bot.clicked.wait(), 5)
    assert bot.view is not None and bot.view.clicker == 77
    body = await fake_discord.wait_for_interaction_response(click)
    assert body["type"] == 7 and body["data"]["content"] == "approved"
    updated = fake_discord.message(message["id"])
    assert updated is not None and updated["content"] == "approved"
    with pytest.raises(ValueError, match="disabled"):
        await fake_discord.click(updated, "approve")


async def test_429_is_waited_out(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fake_discord.fail(r"POST /channels/\d+/messages$", status=429, count=1, retry_after=0.2)
    start = fake_discord.mark()
    t0 = time.monotonic()
    msg = await channel(bot, fake_discord).send("after ratelimit")
    elapsed = time.monotonic() - t0
    attempts = [
        r
        for r in fake_discord.requests[start:]
        if r.route == "POST /channels/{channel_id}/messages"
    ]
    assert [r.status for r in attempts] == [429, 200]
    assert attempts[1].time - attempts[0].time >= 0.2 and elapsed >= 0.2
    assert msg.content == "after ratelimit"


async def test_500_then_success(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fault = fake_discord.fail(r"POST /channels/\d+/messages$", status=500, count=1)
    start = fake_discord.mark()
    msg = await channel(bot, fake_discord).send("retried")  # discord.py sleeps 1s, then retries
    statuses = [r.status for r in fake_discord.requests[start:] if r.method == "POST"]
    assert statuses == [500, 200] and fault.hits == 1
    assert msg.content == "retried"


async def test_403_raises_forbidden(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fake_discord.fail(r"POST /channels/\d+/messages$", status=403, count=None)
    with pytest.raises(discord.Forbidden) as exc:
        await channel(bot, fake_discord).send("nope")
    assert exc.value.code == 50013
    fake_discord.clear_faults()
    assert (await channel(bot, fake_discord).send("ok")).content == "ok"


async def test_enforced_nonce_returns_the_first_message(
    fake_discord: FakeDiscord, bot: TinyBot
) -> None:
    ch = channel(bot, fake_discord)
    other = bot.get_channel(fake_discord.channel_ids[1])
    assert isinstance(other, discord.TextChannel)
    first = await ch.send("once", nonce="abc123")  # discord.py adds enforce_nonce: true
    post = fake_discord.requests_matching(r"POST /channels/\d+/messages$")[-1]
    assert post.json["nonce"] == "abc123" and post.json["enforce_nonce"] is True
    again = await ch.send("twice?", nonce="abc123")
    assert again.id == first.id and again.content == "once"
    assert [m["content"] for m in fake_discord.messages(ch.id)] == ["once"]
    assert fake_discord.nonce_duplicates == 1
    # another channel, another nonce, or an expired window: a new message each time
    assert (await other.send("there", nonce="abc123")).id != first.id
    assert (await ch.send("new nonce", nonce="xyz")).id != first.id
    fake_discord.nonce_window = 0.0
    assert (await ch.send("later", nonce="abc123")).id != first.id
    # without enforce_nonce Discord does not deduplicate either
    await bot.http.request(
        discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=ch.id),
        json={"content": "raw", "nonce": "xyz"},
    )
    assert len(fake_discord.messages(ch.id)) == 4 and fake_discord.nonce_duplicates == 1


async def test_drop_gateway_resumes_and_replays(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    session = fake_discord.session_id
    await fake_discord.drop_gateway()
    assert not fake_discord.connected
    # dispatched while the socket is down: must be replayed after RESUME
    inter = await fake_discord.invoke("echo", {"text": "during outage"})
    await fake_discord.wait_resumed()
    await asyncio.wait_for(bot.resumed.wait(), 5)
    resume = await fake_discord.wait_for_gateway(lambda f: f.op == 6)
    assert resume.d["session_id"] == session and fake_discord.identify_count == 1
    assert len(fake_discord.gateway_connections) == 2
    assert [p["t"] for p in fake_discord.replayed] == ["INTERACTION_CREATE"]
    body = await fake_discord.wait_for_interaction_response(inter)
    assert body["data"]["content"] == "during outage"
    later = await fake_discord.invoke("echo", {"text": "after"})
    assert (await fake_discord.wait_for_interaction_response(later))["data"]["content"] == "after"


async def test_invalid_session_reidentifies(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    old = fake_discord.session_id
    await fake_discord.invalidate_session()
    await fake_discord.wait_ready(identifies=2)
    assert fake_discord.session_id != old
    assert [f.connection for f in fake_discord.gateway_frames if f.op == 2] == [0, 1]
    inter = await fake_discord.invoke("echo", {"text": "fresh session"})
    body = await fake_discord.wait_for_interaction_response(inter)
    assert body["data"]["content"] == "fresh session"


async def test_delay_slows_responses(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    delay = fake_discord.delay(r"POST /channels/\d+/messages$", 0.15, count=1)
    ch = channel(bot, fake_discord)
    t0 = time.monotonic()
    await ch.send("slow")
    assert time.monotonic() - t0 >= 0.15 and delay.hits == 1
    await ch.send("fast")
    assert delay.hits == 1 and delay.remaining == 0  # count=1: only the first was slowed
    assert [m["content"] for m in fake_discord.messages(ch.id)] == ["slow", "fast"]


async def test_unknown_route_recorded(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    with pytest.raises(discord.NotFound):
        await bot.http.request(discord.http.Route("GET", "/nonexistent/{x}", x=1))
    assert fake_discord.unknown_routes == ["GET /nonexistent/1"]
    fake_discord.unknown_routes.clear()  # provoked on purpose; keep the fixture's check green


async def test_wait_for_times_out_without_polling(fake_discord: FakeDiscord) -> None:
    t0 = time.monotonic()
    with pytest.raises(WaitTimeout, match="waiting for"):
        await fake_discord.wait_for(lambda r: r.method == "DELETE", timeout=0.1)
    assert time.monotonic() - t0 < 1.0


async def test_bad_token_login_fails() -> None:
    async with FakeDiscord(token="right") as fake:
        restore = fake.patch_discord()
        try:
            client = discord.Client(intents=discord.Intents.none())
            with pytest.raises(discord.LoginFailure):
                await client.login("wrong")
            await client.close()
        finally:
            restore()
        assert fake.requests[0].status == 401


async def test_autosharded_client_uses_gateway_bot(fake_discord: FakeDiscord) -> None:
    client = discord.AutoShardedClient(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    await client.login(TOKEN)
    task = asyncio.create_task(client.connect())
    try:
        await asyncio.wait_for(client.wait_until_ready(), 5)
        assert client.shard_count == 1 and client.get_guild(fake_discord.guild_id) is not None
        assert any(r.route == "GET /gateway/bot" for r in fake_discord.requests)
        identify = next(f for f in fake_discord.gateway_frames if f.op == 2)
        assert identify.d["shard"] == [0, 1]
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)
