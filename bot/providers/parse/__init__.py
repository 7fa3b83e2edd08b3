"""Lenient, pure helpers the provider adapters share: times, elapsed figures, ids, typed getters.

useapi.net's providers disagree on almost everything (their documentation, provider by
provider): the id key, whether `started` is ISO or epoch, whether elapsed is `"03:57"`,
`"1m 23s"` or a number of seconds, and some documented examples hold impossible timestamps
(`"12:45:67.890Z"`). The value parsers here (`parse_time`, `parse_elapsed`, `account_from_id`,
`kind_from_id`) therefore never raise: a value they cannot read becomes `None`. The getters
(`expect_*`, `opt_*`, `require_id`) are the opposite: they guard the *shape* of a body and raise
`PayloadError` naming provider and field, so an adapter never lets a KeyError/TypeError escape
and never turns a misunderstood body into an empty queue.

Values that are readable but absurd are bounded here, per field, as `bot.models` documents
(issue 9, defect 4):

* elapsed figures (`elapsed`, `elapsedSeconds`, or computed from `started`): clamped to
  `MAX_ELAPSED_SECONDS` (a year), so 10^400 and 1e308 are a year, not an OverflowError;
* times (`started`, `created`, `updated`): outside [`EARLIEST`, `LATEST`) (2000–2100) → None;
* account counts (`maxJobs`, `executing`, `available`): clamped to 0 … `MAX_COUNT`;
* a scheduler list (or Dreamina group) that repeats a job id gives one job, the first;
  an `available` list that repeats an account gives one row, the first. Every item is still
  read, so a malformed repeat is a `PayloadError` like any malformed item.

Nothing but `PayloadError` leaves an adapter's parse functions, whatever the JSON.

One module per concern, every name importable from here:

=============  ==========================================================================
`times`        `parse_time` (ISO-8601, epoch seconds or milliseconds)
`elapsed`      `parse_elapsed`, `elapsed_since`
`ids`          `account_from_id`, `kind_from_id`, `as_kind`
`memos`        `id_info` and the memoised readers the fast paths use
`statuses`     `outcome_from_word`
`getters`      `expect_*`, `opt_*`, `require_id`, `reply_ref_of`
`queue`        `flat_queue`, `unique_jobs` (a flat scheduler array)
`capacity`     `available_accounts`, `accounts_from_config`, `running_per_account`
`fetching`     `both`
`numeric`      the number-in-text reader the others share
`health`       `accounts_health` (an accounts map → `AccountHealth`), `nested`, `first_time`
=============  ==========================================================================
"""

from bot.providers.parse.capacity import (
    accounts_from_config,
    available_accounts,
    running_per_account,
)
from bot.providers.parse.elapsed import elapsed_since, parse_elapsed
from bot.providers.parse.fetching import both
from bot.providers.parse.getters import (
    expect_dict,
    expect_list,
    opt_dict,
    opt_int,
    opt_list,
    opt_str,
    reply_ref_of,
    require_id,
)
from bot.providers.parse.health import accounts_health, first_time, nested
from bot.providers.parse.ids import account_from_id, as_kind, kind_from_id
from bot.providers.parse.memos import id_info
from bot.providers.parse.queue import flat_queue, unique_jobs
from bot.providers.parse.statuses import outcome_from_word
from bot.providers.parse.times import parse_time

__all__ = [
    "account_from_id",
    "accounts_from_config",
    "accounts_health",
    "as_kind",
    "available_accounts",
    "both",
    "elapsed_since",
    "expect_dict",
    "expect_list",
    "first_time",
    "flat_queue",
    "id_info",
    "kind_from_id",
    "nested",
    "opt_dict",
    "opt_int",
    "opt_list",
    "opt_str",
    "outcome_from_word",
    "parse_elapsed",
    "parse_time",
    "reply_ref_of",
    "require_id",
    "running_per_account",
    "unique_jobs",
]

# Reachable here too for the tests that compare a fast path with its checked twin. (The memo
# dicts are not: a test that swaps one patches `memos`, where the readers look them up.)
from bot.providers.parse.numeric import _MAX_TEXT as _MAX_TEXT
from bot.providers.parse.queue import _flat_fast as _flat_fast
from bot.providers.parse.queue import _flat_job as _flat_job
