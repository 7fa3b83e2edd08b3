"""Logging set-up with a last line of defence: secrets are masked in every record."""

from __future__ import annotations

import logging
from collections.abc import Iterable

MASK = "***"


class SecretFilter(logging.Filter):
    """Replaces each known secret in a record's rendered message (and traceback) with ***."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = self._mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        return True


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Root logger to stderr at `level`, with every secret masked. Idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_opsbot", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._opsbot = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(secrets))
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request at INFO; that is noise for a bot polling every few seconds.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    # Alembic names its dialect and every revision it runs at INFO; `opsbot migrate` prints
    # its own line, and a start-up that creates a new database says nothing of it.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
