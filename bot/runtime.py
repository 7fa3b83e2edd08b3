"""Wiring shared by the CLI commands: settings → client → provider adapters."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any, Final

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot import providers
from bot.providers import Provider
from bot.settings import ConfigError, Settings
from bot.useapi import UseapiClient


def make_client(
    settings: Settings,
    *,
    base_url: str | None = None,
    token: SecretStr | None = None,
    **kwargs: Any,
) -> UseapiClient:
    return UseapiClient(base_url or settings.base_url, token or settings.useapi_token, **kwargs)


def make_providers(names: Sequence[str], client: UseapiClient) -> list[Provider]:
    return [providers.load(name)(client) for name in names]


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings (tokens, the receiver's path secret, the database
    password), for the log filter."""
    tokens = (settings.discord_token, settings.useapi_token, settings.reply_secret)
    found = [s.get_secret_value() for s in tokens if s]
    password = make_url(settings.database_url).password
    if password:
        found.append(str(password))
    return found


def display_database_url(url: str) -> str:
    """The database URL with its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


#: How long `opsbot check` waits for the database to answer.
DATABASE_CHECK_TIMEOUT = 5.0


async def check_database(database_url: str) -> tuple[bool, str]:
    """`opsbot check`'s database line, read without creating or changing anything: (usable,
    line). Raises ConfigError when the database is of a schema this opsbot cannot use."""
    from bot.store import SchemaTooNew, Store, StoreError  # (SQLAlchemy: only when used)

    where = display_database_url(database_url)
    try:
        async with asyncio.timeout(DATABASE_CHECK_TIMEOUT):
            schema = await Store.stored_schema(database_url)
    except SchemaTooNew as exc:
        raise ConfigError(str(exc)) from None
    except StoreError as exc:
        return False, f"✗ database {where}: {exc}"
    except Exception as exc:  # unreachable server, wrong password, not a database…
        return False, f"✗ database {where}: cannot open it ({type(exc).__name__})"
    if schema is None or schema.empty:
        return True, f"✓ database {where}: none yet (`opsbot run` creates it)"
    if not schema.current:
        return False, (
            f"✗ database {where}: holds {schema.describe()}, older than this opsbot's "
            f"(revision {schema.head}): run `opsbot migrate`"
        )
    return True, f"✓ database {where}: {schema.describe()} (the newest)"


_tuned = False

#: Collect the youngest generation every 10,000 new container objects instead of every 700. A
#: tick at 50,000 jobs allocates a few hundred thousand short-lived ones (decoded scheduler
#: lists, jobs); at 700 they were promoted, and set off one or two full collections, every
#: tick (about a quarter of its CPU time).
GC_THRESHOLDS: Final = (10_000, 10, 10)


def tune_gc() -> None:
    """Once per process, when everything is imported and nothing is connected yet: move every
    object alive now (modules, classes, functions: ~100,000 of them with discord.py and
    SQLAlchemy) out of the garbage collector's sight, and collect young objects less often
    (`GC_THRESHOLDS`). The frozen objects live as long as the process anyway, and every full
    collection would walk them all again. Garbage is collected first, so none of it is kept.

    Not later: a frozen object is never collected, and a database connection that a
    cancelled write leaves behind in a reference cycle is closed only by the collector (its
    lock with it), so connections, sessions and the bot must be created after this."""
    global _tuned
    if not _tuned:
        _tuned = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)


def watch_holder(provider: str) -> str:
    """The name this process leads `provider`'s polling under: host and process id, so that
    two bots on one host are two replicas, while a container restarted under the same name
    (and pid 1) simply renews its own lease."""
    return f"{socket.gethostname()}/{os.getpid()}/{provider}"


def delivery_worker() -> str:
    """The name this process claims outbox rows under: host and process id (which replica
    holds a row, as `watch_holder` tells who polls), and a random part, since a container
    restarted under the same name and pid must not pass for its predecessor."""
    return f"deliver-{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def holder_gone(holder: str) -> bool:
    """True when `holder` (a `watch_holder` name) was a process of this host that no longer
    runs, so that a bot restarted after a crash leads again at once instead of waiting out the
    lease of its dead predecessor. Another host's holder, or one we cannot tell about, is not
    gone: its lease runs out on its own."""
    parts = holder.rsplit("/", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False  # ourselves (renewed by acquire_lease in any case)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but not ours to signal
        return False
    return False
