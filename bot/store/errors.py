"""What goes wrong with the database, as the rest of opsbot sees it."""

from __future__ import annotations

from sqlalchemy.exc import DataError


class StoreError(Exception):
    """The database cannot be used as it is. The message is one line for a human."""


class SchemaTooNew(StoreError):
    """The database was written by a newer opsbot: its schema revision is not one this opsbot
    knows. `found` says what it holds, `supported` is this opsbot's newest revision."""

    def __init__(self, found: str, supported: str) -> None:
        super().__init__(
            f"the database holds {found}, newer than this opsbot's (revision {supported}): "
            f"upgrade opsbot or point DATABASE_URL at another database"
        )
        self.found = found
        self.supported = supported


class SchemaOutOfDate(StoreError):
    """The database holds an older schema than this opsbot's: `opsbot migrate` upgrades it."""

    def __init__(self, found: str, supported: str) -> None:
        super().__init__(
            f"the database holds {found}, older than this opsbot's (revision {supported}): "
            f"run `opsbot migrate` to upgrade it (back it up first)"
        )
        self.found = found
        self.supported = supported


class LeaseLost(Exception):
    """A write made in the name of a lease this holder no longer has: another replica took
    it over (this one was paused, or cut off from the database, past the lease). Nothing of
    the write was made; the other replica's state stands."""

    def __init__(self, name: str, holder: str) -> None:
        super().__init__(f"lease {name!r} is no longer held by {holder!r}")
        self.name = name
        self.holder = holder


class DatabaseGone(StoreError):
    """The SQLite file the store opened was deleted or replaced while the bot ran. Nothing is
    written any more: SQLite would go on writing into the deleted file (lost at exit), and a
    new connection would start a new empty database that has forgotten every alert it sent."""


def unstorable(exc: BaseException) -> BaseException | None:
    """The error behind a write that failed on the *values* (a text the database cannot
    encode, a number it cannot hold), or None when it failed on the database (locked, gone,
    unreachable). The first is the data's fault and fails the same way when retried; the
    second may pass later.

    SQLite's driver raises the value's own error (UnicodeEncodeError, OverflowError);
    PostgreSQL answers SQLSTATE class 22, "data exception" (a NUL in text, a bad encoding),
    which SQLAlchemy wraps in a plain DBAPIError, so the chain of causes is read. What comes
    back is the innermost cause: its text names the value, never the SQL around it."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 8:  # a cause chain is short; never loop on a cycle
        chain.append(seen)
        seen = seen.__cause__
    for link in chain:
        if isinstance(link, DataError | ValueError | ArithmeticError | TypeError):
            return chain[-1]
        sqlstate = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith("22"):
            return chain[-1]
    return None
