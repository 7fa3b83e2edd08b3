"""What the simulator needs to know of a provider, and the shapes most providers share.

A provider's simulator part is one module in `bot.sim.providers`: its bodies, a handler for
each API version it serves, and its `SPEC`, a `ProviderSpec` of its facts (a subclass where a
hook's default does not fit). The core (population, churn, faults, server) asks the spec and
knows no provider by name, except PixVerse's legacy v1 jobs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.sim import names
from bot.sim.reply import Reply, error_reply

if TYPE_CHECKING:
    from bot.sim.model import SimJob
    from bot.sim.state import Simulator

#: A handler of one API version's paths: (simulator, method, path segments after the
#: provider, query) → the answer.
Handler = Callable[["Simulator", str, list[str], dict[str, str]], Reply]
#: A new account: the key useapi uses for it, its e-mail and its region (None where none).
AccountSeed = tuple[str, str | None, str | None]


def with_reply(item: dict[str, Any], job: SimJob) -> dict[str, Any]:
    """`item` with the job's `replyUrl` and, beside it, its `replyRef`, where it has them: what
    every scheduler item and job body echoes of the submitted request."""
    if job.reply_url is not None:
        item["replyUrl"] = job.reply_url
        if job.reply_ref is not None:
            item["replyRef"] = job.reply_ref
    return item


@dataclass(frozen=True, kw_only=True)
class ProviderSpec:
    """One simulated provider: its facts, how its accounts and ids look, and its API.

    A provider whose accounts, ids, submission ids or fault items differ from the defaults
    subclasses this and overrides those hooks (see `minimax` and `dreamina`).
    """

    name: str
    #: Documented maxJobs range, and the values new accounts draw from.
    max_jobs_range: tuple[int, int]
    max_jobs_choices: tuple[int, ...]
    #: Kinds the churn produces, with weights.
    kinds: tuple[tuple[str, float], ...]
    #: Kinds `start_job` accepts.
    allowed_kinds: tuple[str, ...]
    #: Duration per kind in seconds: (low, high, mode) of a triangular distribution.
    durations: Mapping[str, tuple[float, float, float]]
    models: tuple[str, ...]
    #: The range the first job number is drawn from (each new job takes the next).
    first_number: tuple[int, int]
    #: API version (`v1`, `v2`) → the handler of that version's paths.
    routes: Mapping[str, Handler]
    #: The key of a scheduler item's job id.
    id_key: str
    #: The key of a scheduler item's elapsed figure, and a short figure in its shape (for the
    #: items the `surrogate` fault adds).
    elapsed_key: str = "elapsed"
    short_elapsed: Any = "00:05"
    #: Days until a new account's session ends, drawn uniformly from this range: at least a
    #: week, so the account checks stay quiet unless told otherwise (`set_account_expiry`).
    session_days: tuple[float, float] = (7.0, 60.0)
    #: Whether its error bodies carry `code` besides `error`.
    error_code: bool = True
    #: useapi's display name of it in `GET /v2/account` ("MiniMax API"); "" for
    #: "<Name> API".
    display_name: str = ""
    #: The path segment of its API where it is not its name (`/v1/runwayml/…`).
    segment: str | None = None
    #: Its job endpoint, whose body a replyUrl callback carries (`bot.sim.callbacks`):
    #: `{id}` the job id, `{account}` its account (query values after `?`).
    status_path: str = ""

    @property
    def account_title(self) -> str:
        """Its key in `/v2/account`'s `accounts`."""
        return self.display_name or f"{self.name.title()} API"

    def new_accounts(self, rng: random.Random, count: int, taken: set[str]) -> list[AccountSeed]:
        """`count` new accounts, none of whose keys is in `taken`: e-mails by default."""
        return [(email, email, None) for email in names.unique_emails(rng, count, taken)]

    def job_id(self, uid: int, account: str, kind: str, n: int, started: float) -> str:
        """The id of job number `n`: `user:{uid}-{provider}:{account}-{kind}:{n}` by default."""
        return f"user:{uid}-{self.name}:{account}-{kind}:{n}"

    def submit_id(self, rng: random.Random) -> str | None:
        """A job's upstream submission id, where the provider shows one."""
        return None

    def error(self, status: int, message: str | None = None) -> Reply:
        """Its error body for `status`."""
        return error_reply(status, message, code=self.error_code)

    def fault_job_id(self, account: str, tag: str) -> str:
        """The id of an item a fault adds, shaped like the provider's own ids."""
        return f"user:0-{self.name}:{account}-video:{tag}"

    def fault_item(self, job_id: str, elapsed: Any, started: str) -> dict[str, Any]:
        """A scheduler item a fault adds."""
        return {self.id_key: job_id, "type": "video", "started": started, self.elapsed_key: elapsed}

    def item_lists(self, body: Any, *, adding: bool) -> list[list[Any]] | None:
        """The scheduler item lists of one of its bodies, where they are not where most
        providers keep them (`bot.sim.hostile`: a flat list, `executing`); None: look there."""
        return None
