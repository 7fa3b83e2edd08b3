"""The `opsbot` command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import math
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from bot import report
from bot.logs import setup_logging
from bot.runtime import (
    check_database,
    display_database_url,
    make_client,
    make_providers,
    secrets_of,
)
from bot.settings import ConfigError, Settings, load_settings
from bot.snowflake import parse_snowflake

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def _bounded(kind: type[int] | type[float], low: int, high: int) -> Callable[[str], float]:
    """An argparse type: a finite `kind` from `low` to `high` (inf, NaN and 70000 for a port
    gave a traceback or a demo that never ended)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low <= value <= high):
            whole = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"must be {whole} from {low} to {high}")
        return value

    return parse


def _snowflake(text: str) -> int:
    """A Discord id option: argparse says what is wrong with it, in one line."""
    try:
        return parse_snowflake(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    """The commands, each with its options (`_<command>_options`)."""
    parser = argparse.ArgumentParser(prog="opsbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _run_options(
        sub.add_parser("run", help="connect to Discord, load the provider cogs, start watching")
    )
    _demo_options(
        sub.add_parser("demo", help="no tokens: simulator + watcher, shown in the terminal")
    )
    _status_options(
        sub.add_parser("status", help="fetch every enabled provider once: queue and capacity")
    )
    sub.add_parser("check", help="validate the settings and reach each enabled provider")
    sub.add_parser("migrate", help="bring the database's schema up to date (DATABASE_URL)")
    _history_options(
        sub.add_parser(
            "history", help="jobs and capacity over the last hours, from the database; a chart"
        )
    )
    invite = sub.add_parser(
        "invite", help="print the OAuth2 URL that adds the bot with exactly what it needs"
    )
    invite.add_argument(
        "--application-id",
        type=_snowflake,
        metavar="ID",
        help="the application's id (Developer Portal, General Information); "
        "default: asked of Discord with DISCORD_TOKEN",
    )
    _simulate_options(sub.add_parser("simulate", help="run the useapi simulator as an HTTP server"))
    _bench_options(
        sub.add_parser(
            "bench", help="run the benchmarks (bench/run.py): one table, bench/results.json"
        )
    )
    return parser


def _run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--simulate",
        action="store_true",
        help="use the built-in useapi simulator upstream (no useapi token needed)",
    )


def _demo_options(demo: argparse.ArgumentParser) -> None:
    demo.add_argument(
        "--seconds",
        type=_bounded(float, 1, 86400),
        default=60.0,
        help="how long to run, 1 to 86400 (default 60)",
    )
    demo.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")


def _status_options(status: argparse.ArgumentParser) -> None:
    status.add_argument("--provider", help="only this provider")
    status.add_argument("--json", action="store_true", help="print the JSON document instead")


def _history_options(history: argparse.ArgumentParser) -> None:
    history.add_argument(
        "--hours",
        type=_bounded(float, 1, 24 * 366),
        default=24.0,
        help="how far back, 1 to 8784 (default 24)",
    )
    history.add_argument("--provider", help="only this provider (the chart: per account)")
    history.add_argument("--png", metavar="FILE", help="also write the capacity chart here")


def _simulate_options(sim: argparse.ArgumentParser) -> None:
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument(
        "--port",
        type=_bounded(int, 0, 65535),
        default=8765,
        help="0 to 65535, 0 = any free port (default 8765)",
    )
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument(
        "--accounts",
        type=_bounded(int, 0, 100_000),
        default=30,
        help="accounts in all (default 30)",
    )
    sim.add_argument(
        "--jobs",
        type=_bounded(int, 0, 1_000_000),
        default=60,
        help="running jobs in all (default 60)",
    )
    sim.add_argument("--token", default="sim-token", help="bearer token it accepts")
    sim.add_argument(
        "--reply-to",
        metavar="URL",
        help="POST each ending job's replyUrl callback to URL (a bot's receiver: "
        "http://HTTP_HOST:HTTP_PORT/hooks/useapi/REPLY_SECRET)",
    )


def _bench_options(bench: argparse.ArgumentParser) -> None:
    bench.add_argument(
        "--quick", action="store_true", help="fewer samples and sizes (well under a minute)"
    )
    bench.add_argument(
        "--only",
        help="comma-separated parts: commands,alerts,economy,tick,"
        "startup,flood,chart (results.json is then left alone)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "bench":  # needs no settings: it brings its own fakes
            return _bench(quick=args.quick, only=args.only)
        if args.command == "simulate":  # stands in for useapi: none of opsbot's settings apply
            return _simulate(args)
        settings = load_settings()
        if args.command in ("status", "history") and args.provider:
            name = args.provider.lower()
            if name not in settings.providers:
                raise ConfigError(
                    f"--provider: {args.provider!r} is not enabled in PROVIDERS "
                    f"({', '.join(settings.providers)})"
                )
            settings.providers = [name]
        level = settings.log_level
        if args.command == "demo" and level == "INFO":
            level = "WARNING"  # the demo's output is the terminal view, not the log
        setup_logging(level, secrets_of(settings))
        match args.command:
            case "status":
                settings.require("useapi_token")
                return asyncio.run(_status(settings, as_json=args.json))
            case "check":
                return asyncio.run(_check(settings))
            case "migrate":
                return asyncio.run(_migrate(settings))
            case "history":
                from bot.history.cli import history

                return asyncio.run(
                    history(
                        settings,
                        hours=args.hours,
                        png=args.png,
                        only=args.provider.lower() if args.provider else None,
                    )
                )
            case "invite":
                return asyncio.run(_invite(settings, args.application_id))
            case "demo":
                from bot.demo import run_demo

                return asyncio.run(run_demo(settings, seconds=args.seconds, seed=args.seed))
            case "run":
                from bot.app import CannotStart, run_bot

                try:
                    return run_bot(settings, simulate=args.simulate)
                except CannotStart as exc:
                    print(f"opsbot: {exc}", file=sys.stderr)
                    return EXIT_FAILED
    except ConfigError as exc:
        # One plain line (no wrapping, no colour codes) so scripts can read it.
        print(f"opsbot: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_FAILED  # pragma: no cover - argparse requires a command


def _simulate(args: argparse.Namespace) -> int:
    """`opsbot simulate`: the simulator as a server, until interrupted."""
    from bot.sim import serve

    setup_logging("INFO")
    asyncio.run(
        serve(
            args.host,
            args.port,
            seed=args.seed,
            accounts=args.accounts,
            jobs=args.jobs,
            token=args.token,
            reply_to=args.reply_to,
        )
    )
    return EXIT_OK


async def _status(settings: Settings, *, as_json: bool) -> int:
    async with make_client(settings) as client:
        reports = await report.collect(make_providers(settings.providers, client))
    taken_at = datetime.now(UTC)
    if as_json:
        doc = report.to_json(reports, taken_at, redact=settings.redact_accounts)
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        report.print_tables(Console(), reports, redact=settings.redact_accounts)
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAILED


async def _invite(settings: Settings, application_id: int | None) -> int:
    """`opsbot invite`: the URL on the first line (for scripts), what it asks for on the next."""
    from bot.app import apply_discord_urls
    from bot.invite import InviteError, invite_url, what_it_asks
    from bot.invite import application_id as ask_discord

    if application_id is None:
        if settings.discord_token is None:
            raise ConfigError(
                "DISCORD_TOKEN is not set: opsbot invite asks Discord for the application's "
                "id with it (or give --application-id)"
            )
        apply_discord_urls(settings)
        try:
            application_id = await ask_discord(settings.discord_token.get_secret_value())
        except InviteError as exc:
            print(f"opsbot: invite: {exc}", file=sys.stderr)
            return EXIT_FAILED
    print(invite_url(application_id))
    print(what_it_asks())
    return EXIT_OK


async def _migrate(settings: Settings) -> int:
    """`opsbot migrate`: one line saying what the database held and holds now."""
    from bot.store import SchemaTooNew, Store, StoreError  # (SQLAlchemy: only when used)

    where = display_database_url(settings.database_url)
    try:
        before, after = await Store.upgrade(settings.database_url)
    except SchemaTooNew as exc:
        raise ConfigError(str(exc)) from None
    except StoreError as exc:
        print(f"opsbot: database {where}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # unreachable server, wrong password, not a database…
        print(f"opsbot: database {where}: cannot open it ({type(exc).__name__})", file=sys.stderr)
        return EXIT_FAILED
    if before.current:
        print(f"✓ database {where}: {after.describe()} already (the newest)")
    else:
        print(f"✓ database {where}: {before.describe()} → {after.describe()} (the newest)")
    return EXIT_OK


async def _check(settings: Settings) -> int:
    from bot.accounts.read import problem_lines, read_accounts
    from bot.receivercheck import check_receiver

    out = Console(highlight=False, soft_wrap=True)  # one line per check, however long
    out.print(
        f"✓ settings: providers {', '.join(settings.providers)}, "
        f"poll every {settings.poll_interval_seconds:g}s, database "
        f"{display_database_url(settings.database_url)}"
    )
    database_ok, line = await check_database(settings.database_url)
    out.print(line)
    if settings.useapi_token is None:
        out.print("✗ USEAPI_TOKEN is not set")
        return EXIT_CONFIG
    discord_ok, lines = await _check_discord(settings, database_ok)
    receiver_ok, more = await check_receiver(settings)
    for line in (*lines, *more):
        out.print(line, markup=False)  # names from Discord, as they are
    async with make_client(settings, attempts=1) as client:
        providers = make_providers(settings.providers, client)
        reports = await report.collect(providers)
        readings = await read_accounts(client, {p.name: p for p in providers})
    for r in reports:
        if r.snapshot is not None:
            out.print(
                f"✓ {r.provider}: reached {settings.base_url} — {len(r.snapshot.jobs)} "
                f"running, {len(r.snapshot.accounts)} accounts"
            )
        else:
            out.print(f"✗ {r.provider}: {r.error}")
    for line in problem_lines(
        readings,
        now=datetime.now(UTC),
        warn=timedelta(days=settings.expiry_warn_days),
        redact=settings.redact_accounts,
    ):
        out.print(line, markup=False, soft_wrap=True)  # one line each, however long
    # An account in error or about to expire is a warning; a lapsed subscription stops
    # every job, like a provider that cannot be reached.
    subscription_ok = readings[0] is None or readings[0].active
    ok = database_ok and subscription_ok and all(r.ok for r in reports)
    return EXIT_OK if ok and discord_ok and receiver_ok else EXIT_FAILED


async def _check_discord(settings: Settings, database_ok: bool) -> tuple[bool, list[str]]:
    """`opsbot check`'s Discord lines: the channels are ALERT_CHANNEL_ID and those that
    /alerts route and /board put in the database (read as it is, never created)."""
    from bot.discordcheck import check_discord, targets
    from bot.store import Store

    if settings.discord_token is None or not database_ok:
        return await check_discord(settings, targets(settings.alert_channel_id, (), ()))
    try:
        store = await Store.open_readonly(settings.database_url)
        try:
            routes, boards = (
                ([], []) if store is None else (await store.routes(), await store.boards())
            )
        finally:
            if store is not None:
                await store.close()
    except Exception as exc:  # the database line said it could be read; it changed since
        line = f"✗ routes and boards: cannot read them from the database ({type(exc).__name__})"
        _, lines = await check_discord(settings, targets(settings.alert_channel_id, (), ()))
        return False, [line, *lines]
    return await check_discord(settings, targets(settings.alert_channel_id, routes, boards))


#: What the `bench` extra of pyproject.toml installs, by import name.
BENCH_EXTRA = ("pyinstrument",)


def _bench(*, quick: bool, only: str | None) -> int:
    """`opsbot bench`: run this checkout's bench/run.py (against the rig: fake Discord,
    simulator)."""
    script = Path(__file__).resolve().parent.parent / "bench" / "run.py"
    if not script.is_file():
        print("opsbot: bench needs a source checkout (bench/run.py next to bot/)", file=sys.stderr)
        return EXIT_CONFIG
    missing = [name for name in BENCH_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"opsbot: bench needs the bench extra ({', '.join(missing)} is not installed): "
            "pip install -e '.[bench]'",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    extra = (["--quick"] if quick else []) + (["--only", only] if only else [])
    return subprocess.call([sys.executable, str(script), *extra])
