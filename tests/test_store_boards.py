"""The `/board` messages as stored: one per channel and provider (`bot.store.boards`)."""

from __future__ import annotations


async def test_boards(store):
    assert await store.set_board(10, None, 1000, guild_id=5) is None
    assert await store.set_board(10, None, 1001) == 1000
    assert await store.set_board(10, "pixverse", 1002) is None
    assert [(b.message_id, b.provider) for b in await store.boards()] == [
        (1001, None),
        (1002, "pixverse"),
    ]
    assert await store.remove_board(1001)
    assert [b.message_id for b in await store.boards()] == [1002]
