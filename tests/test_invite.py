"""`opsbot invite`: the OAuth2 URL with exactly the bot's permissions and both scopes, for an
application id given or asked of (a fake) Discord with the token."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from bot import cli
from bot.settings import Settings
from rig.threadfake import threaded_fake_discord

APP = 1200000000000000001
TOKEN = "invite-token-0123456789.abcdef"
#: What the README's set-up step names, in the Developer Portal's words.
NEEDED = {
    "read_messages",  # (View Channels: discord.py's name for it)
    "send_messages",
    "send_messages_in_threads",
    "embed_links",
    "read_message_history",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = cli.main(["invite", *argv])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err.splitlines()


def test_the_url_asks_for_exactly_the_bots_permissions_and_scopes(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--application-id", str(APP))
    assert (code, err) == (0, [])
    assert out == [
        f"https://discord.com/oauth2/authorize?client_id={APP}"
        "&scope=bot+applications.commands&permissions=274877991936",
        "permissions: View Channels, Send Messages, Send Messages in Threads, Embed Links, "
        "Read Message History (274877991936); scopes: bot, applications.commands",
    ]
    query = parse_qs(urlsplit(out[0]).query)
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert {name for name, on in granted if on} == NEEDED  # no more, no less
    readme = (Path(cli.__file__).resolve().parent.parent / "README.md").read_text()
    assert "opsbot invite" in readme and query["permissions"][0] in readme


def test_the_application_id_is_asked_of_discord_with_the_token(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with threaded_fake_discord() as fake:
        fake.token = TOKEN
        env.setenv("DISCORD_TOKEN", TOKEN)
        env.setenv("DISCORD_API_BASE_URL", fake.api_base)
        code, out, err = run(capsys)
    assert (code, err) == (0, [])
    assert out[0] == (
        f"https://discord.com/oauth2/authorize?client_id={fake.app_id}"
        "&scope=bot+applications.commands&permissions=274877991936"
    )
    assert TOKEN not in "\n".join(out)


def test_a_rejected_token_is_one_line_and_exit_1(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with threaded_fake_discord() as fake:
        fake.token = "the-right-one-0123456789"
        env.setenv("DISCORD_TOKEN", TOKEN)
        env.setenv("DISCORD_API_BASE_URL", fake.api_base)
        code, out, err = run(capsys)
    assert (code, out) == (1, [])
    assert err == [
        "opsbot: invite: Discord rejected DISCORD_TOKEN (401 Unauthorized): reset it in the "
        "Developer Portal (Bot tab), or give --application-id"
    ]


def test_without_a_token_or_an_id_it_says_what_to_give(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys)
    assert (code, out) == (2, [])
    assert err == [
        "opsbot: config error: DISCORD_TOKEN is not set: opsbot invite asks Discord for the "
        "application's id with it (or give --application-id)"
    ]


def test_a_bad_application_id_is_refused_by_argparse(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["invite", "--application-id", "0"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "opsbot invite: error: argument --application-id: must be a Discord id: a whole number "
        "from 1 to 18446744073709551615"
    )
