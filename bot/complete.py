"""Autocomplete of running job ids (`/job id`, `/cancel id`), from a provider's last snapshot.

No upstream call: what is offered is what the watcher last saw. Discord's limits hold: at most
`CHOICES_MAX` choices, names and values of at most `CHOICE_MAX` characters. The value is the
job id a command gets back, so an id longer than `CHOICE_MAX` cannot be offered (it would
arrive cut, naming no job): it is left out, and the member types or pastes it.

With REDACT_ACCOUNTS the value is the id as shown, e-mails masked (`display_id`): no raw e-mail
leaves the bot, as with /queue's account choices. The commands turn a masked id back into the
running job's own id with `unmask`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from discord import app_commands

from bot.models import Job, Snapshot
from bot.text import display_account, display_id, printable, short_id, truncate

#: Discord's limits on autocomplete: characters of a choice's name and value, choices offered.
CHOICE_MAX = 100
CHOICES_MAX = 25
#: Characters of a choice's name given to the account; the id gets the rest.
ACCOUNT_CHARS = 40
SEP = " · "


def _newest_first(job: Job, now: datetime, taken_at: datetime) -> tuple[bool, float]:
    elapsed = job.elapsed(now, taken_at)
    # a job with no known start sorts after every timed one
    return elapsed is None, elapsed if elapsed is not None else 0.0


def job_choices(
    snap: Snapshot | None, typed: str, *, now: datetime, redact: bool
) -> list[app_commands.Choice[str]]:
    """The running jobs of `snap` whose id or shown account contains `typed` (any case),
    most recently started first; each named "id · account" within Discord's limits."""
    if snap is None:
        return []
    needle = typed.strip().lower()
    shown = Counter(display_id(j.id, redact) for j in snap.jobs)
    out: list[app_commands.Choice[str]] = []
    for job in sorted(snap.jobs, key=lambda j: _newest_first(j, now, snap.taken_at)):
        value = display_id(job.id, redact)
        # a masked id that reads as two jobs names neither (`unmask` refuses it)
        if len(value) > CHOICE_MAX or not value.strip() or shown[value] > 1:
            continue
        account = display_account(job.account, redact)
        if needle and needle not in value.lower() and needle not in account.lower():
            continue
        shown_account = truncate(printable(account), ACCOUNT_CHARS)
        room = CHOICE_MAX - len(SEP) - len(shown_account)
        name = f"{short_id(printable(value), room)}{SEP}{shown_account}"
        out.append(app_commands.Choice(name=name, value=value))
        if len(out) == CHOICES_MAX:
            break
    return out


class Ambiguous(Exception):
    """A masked id that reads the same for more than one running job."""


def unmask(snap: Snapshot | None, typed: str, *, redact: bool) -> str:
    """The id to act on for `typed`: itself, unless REDACT_ACCOUNTS is on and it is the masked
    form (as autocomplete offers it) of exactly one running job that is not itself, then that
    job's id. Raises `Ambiguous` when several running jobs read as `typed`."""
    if not redact or snap is None or "***@" not in typed:
        return typed
    if any(j.id == typed for j in snap.jobs):
        return typed
    found = [j.id for j in snap.jobs if display_id(j.id, True) == typed]
    if len(found) > 1:
        raise Ambiguous(typed)
    return found[0] if found else typed
