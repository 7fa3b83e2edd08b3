"""`opsbot check`'s receiver lines: where useapi's replyUrl callbacks would go, whether an
opsbot answers there with this REPLY_SECRET, or else whether the port is free to listen on.

The secret is the receiver's only lock: it is never printed (the path reads
`/hooks/useapi/<secret hidden>`), and the probe goes through aiohttp, which logs no URLs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import aiohttp
import yarl

from bot.settings import Settings

#: The receiver's path, before the secret (README, The replyUrl receiver).
RECEIVER_PATH = "/hooks/useapi/"
#: What the output says in place of the secret.
HIDDEN = "<secret hidden>"
#: Seconds the probe of a running receiver may take.
PROBE_TIMEOUT = 3.0
#: The receiver's answer to a body without a recognisable job: it is up, with this secret.
NO_JOB = 422
#: A wildcard listens everywhere; the probe knocks on this machine's own address instead.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


async def check_receiver(settings: Settings) -> tuple[bool, list[str]]:
    """(all passed, the lines): one for the receiver, and a warning when HTTP_HOST is a
    loopback address."""
    if not settings.http_port or settings.reply_secret is None:
        return True, [
            "• receiver: off (set HTTP_PORT and REPLY_SECRET to take useapi's replyUrl callbacks)"
        ]
    host, port = settings.http_host, settings.http_port
    shown = f"POST {RECEIVER_PATH}{HIDDEN} on {host}:{port}"
    ok, line = await _probe(host, port, settings.reply_secret.get_secret_value(), shown)
    lines = [line]
    if is_loopback(host):
        lines.append(
            f"⚠ receiver: HTTP_HOST {host} is a loopback address: useapi cannot reach it "
            "without a reverse proxy or a tunnel in front"
        )
    return ok, lines


async def _probe(host: str, port: int, secret: str, shown: str) -> tuple[bool, str]:
    url = yarl.URL.build(
        scheme="http", host=_WILDCARDS.get(host, host), port=port, path=RECEIVER_PATH + secret
    )
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT)) as session,
            session.post(url, json={}, allow_redirects=False) as response,
        ):
            status = response.status
    except aiohttp.ClientConnectorError:
        return await _free(host, port, shown)
    except TimeoutError:
        return False, (
            f"✗ receiver: {shown}: something accepted the connection but did not answer "
            f"within {PROBE_TIMEOUT:g} s"
        )
    except (aiohttp.ClientError, OSError) as exc:
        return False, f"✗ receiver: {shown}: the answer was no HTTP ({type(exc).__name__})"
    if status == NO_JOB:
        return True, f"✓ receiver: {shown}: a running opsbot answers there with this REPLY_SECRET"
    if status == 404:
        return False, (
            f"✗ receiver: {shown}: answers 404: the opsbot there has another REPLY_SECRET "
            "(or no receiver)"
        )
    return False, f"✗ receiver: {shown}: answers HTTP {status}: not an opsbot receiver"


async def _free(host: str, port: int, shown: str) -> tuple[bool, str]:
    """Nothing answers: whether `opsbot run` could listen there (bound and let go at once)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        return False, f"✗ receiver: {shown}: cannot resolve HTTP_HOST ({exc.strerror})"
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            # As aiohttp listens (SO_REUSEADDR): a port in TIME_WAIT is free to it.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        return False, (
            f"✗ receiver: {shown}: nothing answers there, and the port cannot be listened "
            f"on ({exc.strerror})"
        )
    return True, (
        f"✓ receiver: {shown}: nothing answers there yet, and the port is free for "
        "`opsbot run` to listen on"
    )
