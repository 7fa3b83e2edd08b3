"""bot.snowflake: the one definition of a Discord id, at exactly its bounds."""

from __future__ import annotations

import pytest

from bot.snowflake import MAX_SNOWFLAKE, is_snowflake, parse_snowflake


@pytest.mark.parametrize(
    "value", [1, "1", " 42 ", MAX_SNOWFLAKE, str(MAX_SNOWFLAKE), 1234567890123456789]
)
def test_accepts_every_unsigned_64_bit_id(value: object) -> None:
    assert parse_snowflake(value) == int(str(value).strip())
    assert is_snowflake(parse_snowflake(value))


@pytest.mark.parametrize(
    "value",
    [
        0,
        "0",
        -1,
        "-1",
        MAX_SNOWFLAKE + 1,
        str(MAX_SNOWFLAKE + 1),
        1 << 200,
        "1e3",
        "1_000",
        "٣",
        "+5",
        "",
        "abc",
        1.0,
        True,
        None,
        "9" * 400,
    ],
)
def test_refuses_what_discord_could_never_send(value: object) -> None:
    assert not is_snowflake(value)
    with pytest.raises(ValueError, match="Discord id"):
        parse_snowflake(value)
