"""What the soak keeps of the bot's insides: every log record (the secrets test reads them
all), and where the database pool and the tasks stand when a stop misses its deadline."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from bot.app import OpsBot


class LogCapture(logging.Handler):
    """Every log record of the process, rendered; with `keep` set, only the last `keep` lines
    (the long mode)."""

    def __init__(self, keep: int | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.keep = keep
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # pragma: no cover - a broken record must not stop the soak
            self.lines.append(f"<unformattable record from {record.name}>")
        if self.keep is not None and len(self.lines) > 2 * self.keep:
            del self.lines[: -self.keep]


def pool_dump(bot: OpsBot) -> str:
    """Debugging aid: which pooled SQLite connections sit in a transaction."""
    out = []
    try:
        pool: Any = bot.store.engine.sync_engine.pool
        queue = getattr(pool._pool, "queue", None) or getattr(pool._pool, "_queue", None)
        queue = getattr(queue, "_queue", queue)
        for rec in list(queue or ()):
            adapted = rec.dbapi_connection
            aio = getattr(adapted, "_connection", None)
            raw = getattr(aio, "_connection", None)
            thread = getattr(aio, "_thread", None)
            out.append(
                f"rec(in_txn={getattr(raw, 'in_transaction', '?')}, running="
                f"{getattr(aio, '_running', '?')}, thread_alive="
                f"{thread.is_alive() if thread else '?'})"
            )
    except Exception as exc:  # pragma: no cover - diagnostics only
        out.append(repr(exc))
    return ", ".join(out)


def task_dump() -> str:
    """Where every task of the loop is waiting (for a deadline's error message)."""
    out = []
    for task in asyncio.all_tasks():
        chain: list[str] = []
        coro: Any = task.get_coro()
        while coro is not None and len(chain) < 30:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is not None:
                chain.append(
                    f"{frame.f_code.co_name}@{Path(frame.f_code.co_filename).name}:{frame.f_lineno}"
                )
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        out.append(f"  {task.get_name()}: {' -> '.join(chain)}")
    return "\n".join(out)
