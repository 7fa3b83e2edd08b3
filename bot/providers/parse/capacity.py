"""Capacity rows: from a `…/scheduler/available` body, or from an accounts map and the queue."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.models import Account, Job, Kind, bound_count
from bot.providers.parse.getters import expect_dict, expect_list, opt_int, require_id


def running_per_account(
    jobs: Iterable[Job], kinds: frozenset[Kind | None] | None = None
) -> Counter[str]:
    """How many of `jobs` each account runs (only those of `kinds`, when given)."""
    return Counter(
        j.account for j in jobs if j.account is not None and (kinds is None or j.kind in kinds)
    )


def _free(max_jobs: int | None, executing: int) -> int | None:
    return None if max_jobs is None else max(0, max_jobs - executing)


def _opt_count(value: object, provider: str, field: str) -> int | None:
    """`opt_int`, clamped to 0 … `MAX_COUNT` (see `bot.models`)."""
    n = opt_int(value, provider, field)
    return None if n is None else bound_count(n)


def available_accounts(
    body: object, provider: str, jobs: Iterable[Job] = ()
) -> tuple[Account, ...]:
    """Capacity rows from a `…/scheduler/available` body: `{available: [{email|account,
    maxJobs, executing, available}], executing: […]}`. A row that leaves out `executing` gets
    the count of `jobs` it runs; one that leaves out `available` gets `maxJobs - executing`.
    Counts are clamped to 0 … `MAX_COUNT`; an account listed twice is its first row."""
    field = "available"
    rows = expect_list(expect_dict(body, provider, "(body)").get(field), provider, field)
    running: Counter[str] | None = None  # counted only when a row leaves `executing` out
    accounts: dict[str, Account] = {}
    for i, raw in enumerate(rows):
        where = f"{field}[{i}]"
        row = expect_dict(raw, provider, where)
        name_key = "email" if row.get("email") is not None else "account"
        name = require_id(
            row.get(name_key), provider, f"{where}.{name_key}", what="an account name"
        )
        max_jobs = _opt_count(row.get("maxJobs"), provider, f"{where}.maxJobs")
        executing = _opt_count(row.get("executing"), provider, f"{where}.executing")
        if executing is None:
            if running is None:
                running = running_per_account(jobs)
            executing = bound_count(running[name])
        available = _opt_count(row.get("available"), provider, f"{where}.available")
        if available is None:
            available = _free(max_jobs, executing)
        accounts.setdefault(
            name, Account(account=name, max_jobs=max_jobs, executing=executing, available=available)
        )
    return tuple(accounts.values())


def accounts_from_config(
    body: object,
    provider: str,
    field: str,
    jobs: Iterable[Job],
    kinds: frozenset[Kind | None] | None = None,
) -> tuple[Account, ...]:
    """Capacity from an accounts map (`{account: {maxJobs, …}}`) and the running `jobs`.

    For providers without a capacity endpoint: `executing` counts the queue's jobs of that
    account (of `kinds`, when given), `available` is `max(0, maxJobs - executing)`. Accounts
    that run jobs but have no config entry follow, with `max_jobs`/`available` None. Counts
    are clamped to 0 … `MAX_COUNT`.
    """
    config = expect_dict(body, provider, field)
    running = running_per_account(jobs, kinds)
    accounts: list[Account] = []
    for name, raw in config.items():
        where = f"{field}.{name}"
        entry = expect_dict(raw, provider, where)
        max_jobs = _opt_count(entry.get("maxJobs"), provider, f"{where}.maxJobs")
        executing = bound_count(running.pop(name, 0))
        accounts.append(
            Account(
                account=name,
                max_jobs=max_jobs,
                executing=executing,
                available=_free(max_jobs, executing),
            )
        )
    accounts.extend(
        Account(account=name, max_jobs=None, executing=bound_count(n), available=None)
        for name, n in sorted(running.items())
    )
    return tuple(accounts)
