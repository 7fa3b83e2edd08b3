"""`ProviderStatus`, the view type of one provider's runtime state (bot/health.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.health import ProviderStatus
from bot.models import Account, Job, Snapshot

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_of_reads_the_counts_from_the_snapshot() -> None:
    snap = Snapshot(
        "minimax",
        NOW,
        (Job("minimax", "a"), Job("minimax", "b")),
        (Account("x", 3, 3, 1), Account("y", None, 2, None), Account("z", 5, 1, 4)),
    )
    assert ProviderStatus.of(
        "minimax", snap, last_ok=NOW, last_error=None, watcher_ok=True
    ) == ProviderStatus(
        "minimax", running=2, used=6, capacity=8, last_ok=NOW, last_error=None, watcher_ok=True
    )


def test_of_without_a_snapshot_knows_no_counts() -> None:
    assert ProviderStatus.of(
        "dreamina", None, last_ok=None, last_error="401 Unauthorized"
    ) == ProviderStatus("dreamina", None, None, None, None, "401 Unauthorized", None)


def test_of_a_provider_that_publishes_no_limit() -> None:
    snap = Snapshot("mureka", NOW, (Job("mureka", "a"),), (Account("x", None, 1, None),))
    status = ProviderStatus.of("mureka", snap, last_ok=NOW, last_error=None)
    assert (status.running, status.used, status.capacity) == (1, 1, None)


@pytest.mark.parametrize(
    ("last_ok", "last_error", "watcher_ok", "healthy"),
    [
        (NOW, None, True, True),
        (NOW, None, None, True),  # before the first tick's verdict on the loop
        (NOW, "", True, True),  # an empty error is no error
        (None, None, True, False),  # never polled well
        (NOW, "timeout", True, False),
        (NOW, None, False, False),  # the watcher stopped
    ],
)
def test_healthy(
    last_ok: datetime | None, last_error: str | None, watcher_ok: bool | None, healthy: bool
) -> None:
    status = ProviderStatus("p", 0, 0, None, last_ok, last_error, watcher_ok)
    assert status.healthy is healthy
