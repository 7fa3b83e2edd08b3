"""The `store` fixture on every configured database backend (SQLite always; PostgreSQL when
OPSBOT_TEST_POSTGRES_URL is set), shared by the store, watcher and delivery tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.test_store import BACKENDS, fresh_url


@pytest.fixture(params=BACKENDS)
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return await fresh_url(request.param, tmp_path)


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    s = await Store.open(url)
    yield s
    await s.close()
