"""Account health read from each provider's accounts endpoint and from `GET /v2/account`: the
endpoints page's example bodies, then mutated ones. A hostile value is a PayloadError naming
provider and field, or an unknown expiry; never anything else."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.accounts.subscription import ProviderAccounts, Subscription, parse_subscription
from bot.errors import PayloadError
from bot.models import AccountHealth
from bot.providers import dreamina, minimax, pixverse
from bot.providers.parse.health import MAX_ERROR_TEXT

# The endpoints page's examples (useapi/endpoints.md §1-3, §0), values as documented.
PIXVERSE: dict[str, Any] = {
    "a@x.com": {
        "email": "a@x.com",
        "maxJobs": 8,
        "password": "…secured…",
        "jwt": {
            "AccountId": 1,
            "ExpireTime": 123456789,  # 1973 as documented: unreadable, the UTC text decides
            "ExpireTimeUTC": "2025-01-01T00:00:00.000Z",
            "Username": "a",
            "token": "…secured…",
        },
    }
}
MINIMAX: dict[str, Any] = {
    "123456": {
        "account": "123456",
        "maxJobs": 1,
        "supportVideo": True,
        "supportChat": True,
        "supportAudio": True,
        "jwt": {
            "token": "…secured…",
            "user": {},
            "exp": 1734858598.864,
            "iat": 1734253798.864,
            "host": "hailuoai.video",
            "iat_Issued": "2024-12-15T09:09:58.864Z",
            "exp_Expire": "2024-12-22T09:09:58.864Z",
        },
    }
}
DREAMINA: dict[str, Any] = {
    "US:a@x.com": {
        "account": "US:a@x.com",
        "email": "a@x.com",
        "region": "US",
        "maxJobs": 10,
        "sessionExpires": "2026-02-01T00:00:00.000Z",
        "error": "pending error, re-add the account",
    }
}
MSG = "expected a message, got an "
OBJ = "expected an object, got "
ACCOUNT: dict[str, Any] = {
    "id": "user:1",
    "email": "team@example.com",
    "subscriptionIsActive": True,
    "subscriptions": [],
    "maxAccountsPerAPI": 50,
    "accounts": {"MiniMax API": {"total": 3, "active": 2, "error": 1}},
    "sub": "261231",
}


def test_the_documented_examples() -> None:
    assert pixverse.parse_account_health(PIXVERSE) == (
        AccountHealth("pixverse", "a@x.com", None, datetime(2025, 1, 1, tzinfo=UTC)),
    )
    assert minimax.parse_account_health(MINIMAX) == (
        AccountHealth(
            "minimax", "123456", None, datetime(2024, 12, 22, 9, 9, 58, 864000, tzinfo=UTC)
        ),
    )
    assert dreamina.parse_account_health(DREAMINA) == (
        AccountHealth(
            "dreamina",
            "US:a@x.com",
            "pending error, re-add the account",
            datetime(2026, 2, 1, tzinfo=UTC),
        ),
    )
    assert parse_subscription(ACCOUNT) == Subscription(
        active=True, providers=(ProviderAccounts("MiniMax API", 3, 2, 1),)
    )


def test_pixverse_epoch_seconds_win_over_the_text_when_readable() -> None:
    body = copy.deepcopy(PIXVERSE)
    body["a@x.com"]["jwt"]["ExpireTime"] = 1767225600  # 2026-01-01
    (health,) = pixverse.parse_account_health(body)
    assert health.expires == datetime(2026, 1, 1, tzinfo=UTC)


def test_minimax_float_exp_unreadable_falls_back_to_the_iso_text() -> None:
    body = copy.deepcopy(MINIMAX)
    body["123456"]["jwt"]["exp"] = "soon"
    (health,) = minimax.parse_account_health(body)
    assert health.expires == datetime(2024, 12, 22, 9, 9, 58, 864000, tzinfo=UTC)


def test_dreamina_session_expires_missing_falls_back_to_session_expires() -> None:
    body = copy.deepcopy(DREAMINA)
    del body["US:a@x.com"]["sessionExpires"]
    body["US:a@x.com"]["session"] = {"expires": "2026-03-01T00:00:00Z"}
    (health,) = dreamina.parse_account_health(body)
    assert health.expires == datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), 10**400, -1, "", "2200-01-01T00:00:00Z", [], {}, True]
)
def test_an_unreadable_expiry_is_unknown(value: object) -> None:
    body = copy.deepcopy(MINIMAX)
    body["123456"]["jwt"]["exp"] = value
    body["123456"]["jwt"]["exp_Expire"] = value
    (health,) = minimax.parse_account_health(body)
    assert health == AccountHealth("minimax", "123456", None, None)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (None, None),
        (False, None),
        ("", None),
        ("   ", None),
        (True, "in error (useapi gave no message)"),
        (596, "596"),
        ("x" * (MAX_ERROR_TEXT + 10), "x" * (MAX_ERROR_TEXT - 1) + "…"),
        ("  re-add the account \n", "re-add the account"),
    ],
)
def test_the_error_field(value: object, error: str | None) -> None:
    body = copy.deepcopy(PIXVERSE)
    body["a@x.com"]["error"] = value
    (health,) = pixverse.parse_account_health(body)
    assert health.error == error


@pytest.mark.parametrize(
    ("module", "body", "field", "message"),
    [
        (pixverse, [], "accounts", "expected an object, got an array"),
        (pixverse, {"a@x": "ok"}, "accounts.a@x", "expected an object, got a string"),
        (pixverse, {" ": {}}, "accounts", "expected an account name, got an empty key"),
        (pixverse, {"a@x": {"jwt": "t"}}, "accounts.a@x.jwt", "expected an object, got a string"),
        (
            pixverse,
            {"a@x": {"error": {"m": 1}}},
            "accounts.a@x.error",
            MSG + "object",
        ),
        (minimax, {"1": {"jwt": [1]}}, "accounts.1.jwt", "expected an object, got an array"),
        (
            dreamina,
            {"US:a": {"session": 5}},
            "accounts.US:a.session",
            OBJ + "a number",
        ),
        (
            dreamina,
            {"US:a": {"error": ["x"]}},
            "accounts.US:a.error",
            MSG + "array",
        ),
    ],
)
def test_a_hostile_shape_is_a_payload_error_naming_the_field(
    module: Any, body: object, field: str, message: str
) -> None:
    with pytest.raises(PayloadError) as caught:
        module.parse_account_health(body)
    assert (caught.value.provider, caught.value.field, caught.value.message) == (
        module.NAME,
        field,
        message,
    )


def test_accounts_keep_the_map_order_odd_one_first_last_and_alone() -> None:
    bad = {"error": "pending error"}
    good = {"sessionExpires": "2026-02-01T00:00:00Z"}
    for order in (["bad", "g1", "g2"], ["g1", "g2", "bad"], ["bad"]):
        body = {f"US:{n}": (bad if n == "bad" else good) for n in order}
        got = dreamina.parse_account_health(body)
        assert [h.account for h in got] == [f"US:{n}" for n in order]
        assert [h.error for h in got] == ["pending error" if n == "bad" else None for n in order]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"subscriptionIsActive": None}, "subscriptionIsActive", "expected true or false"),
        ({"subscriptionIsActive": "yes"}, "subscriptionIsActive", "expected true or false"),
        ({"accounts": []}, "accounts", "expected an object, got an array"),
        ({"accounts": {"X API": 3}}, "accounts.X API", OBJ + "a number"),
        (
            {"accounts": {"X API": {"error": "many"}}},
            "accounts.X API.error",
            "expected a number, got a string",
        ),
    ],
)
def test_a_hostile_subscription_is_a_payload_error(
    change: dict[str, Any], field: str, message: str
) -> None:
    body = dict(ACCOUNT, **change)
    with pytest.raises(PayloadError) as caught:
        parse_subscription(body)
    assert (caught.value.provider, caught.value.field, caught.value.message) == (
        "useapi",
        field,
        message,
    )


def test_subscription_counts_are_bounded_and_missing_ones_zero() -> None:
    body = dict(
        ACCOUNT,
        subscriptionIsActive=False,
        accounts={"A API": {"total": 10**9, "active": -4, "error": 2.7}, "B API": {}},
        extra=[1, 2],
    )
    assert parse_subscription(body) == Subscription(
        active=False,
        providers=(ProviderAccounts("A API", 100_000, 0, 2), ProviderAccounts("B API", 0, 0, 0)),
    )
    assert parse_subscription(body).errors == 2


_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["", "2024-13-45T99:99:99Z", "1e400", "2026-02-01T00:00:00Z", "\ud800"])
)
_ANY = st.recursive(
    _LEAF,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=12,
)
_SHAPED = st.dictionaries(
    st.text(max_size=8),
    st.fixed_dictionaries(
        {},
        optional={
            "error": _ANY,
            "jwt": _ANY
            | st.fixed_dictionaries(
                {},
                optional=dict.fromkeys(("ExpireTime", "ExpireTimeUTC", "exp", "exp_Expire"), _ANY),
            ),
            "sessionExpires": _ANY,
            "session": _ANY,
        },
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(body=_ANY | _SHAPED)
def test_any_json_is_health_or_a_payload_error(body: object) -> None:
    for module in (pixverse, minimax, dreamina):
        try:
            got = module.parse_account_health(body)
        except PayloadError as exc:
            assert exc.provider == module.NAME
            continue
        for h in got:
            assert h.provider == module.NAME and h.account.strip()
            assert h.error is None or (h.error and len(h.error) <= MAX_ERROR_TEXT)
            assert h.expires is None or h.expires.tzinfo is not None


@settings(max_examples=200, deadline=None)
@given(body=_ANY | st.fixed_dictionaries({"subscriptionIsActive": _ANY, "accounts": _ANY}))
def test_any_json_is_a_subscription_or_a_payload_error(body: object) -> None:
    try:
        sub = parse_subscription(body)
    except PayloadError as exc:
        assert exc.provider == "useapi"
        return
    assert all(0 <= n <= 100_000 for p in sub.providers for n in (p.total, p.active, p.error))
