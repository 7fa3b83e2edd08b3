"""The alert policy: observations + what was announced before → Events → outbox items.

Pure functions and plain data, no I/O. The watcher feeds it what one tick saw; the store
persists what it returns. Three rooms:

* state machines (`advance`) with flap damping: a condition must hold for some ticks before it
  is announced, and the all-clear (`restored`, `recovered`) is only ever sent for a condition
  that was announced, and only once it too has held;
* event builders with stable keys (`job:{provider}:{job_id}:{word}`,
  `capacity:{provider}:{account|*}:{episode}:{word}`, `upstream:{provider}:{episode}:{word}`),
  so a re-run of the same tick yields the same keys and the outbox refuses the second copy;
* routing, mutes and mentions (`route_for`, `is_muted`, `mention_for`, `plan`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from bot import errors
from bot.events import AlertWord, Event, EventKind
from bot.models import Job, JobResult, Outcome, discord_user, previewable
from bot.stucklimit import StuckLimit
from bot.text import fmt_duration

# Raw conditions a state machine observes.
OK = "ok"
FULL = "full"

# The alert words (`AlertWord`), by the names this module's callers know.
EXHAUSTED = AlertWord.EXHAUSTED
RESTORED = AlertWord.RESTORED
UNREACHABLE = AlertWord.UNREACHABLE
UNAUTHORIZED = AlertWord.UNAUTHORIZED
PAYMENT_REQUIRED = AlertWord.PAYMENT_REQUIRED
RECOVERED = AlertWord.RECOVERED
STUCK = AlertWord.STUCK

#: Scope of the provider-wide capacity state and of the upstream state.
CAPACITY_ALL = "capacity"
UPSTREAM = "upstream"

#: Streak value meaning "stable for as long as anyone cares"; a state at or above the damping
#: threshold stops counting so that steady ticks do not rewrite its row.
STABLE = 1 << 20

#: Where the policy puts a decided event: to be posted, or recorded only (muted; no channel).
DecidedState = Literal["pending", "muted", "unrouted"]
#: The state of an outbox row: where the policy put it, then where delivery takes a pending
#: one (sent; held until its channel is fixed; failed for good).
OutboxState = Literal[DecidedState, "sent", "held", "failed"]


def capacity_scope(account: str | None) -> str:
    """State scope of one account's capacity (None: the whole provider)."""
    return CAPACITY_ALL if account is None else f"capacity:{account}"


# --------------------------------------------------------------------------- observations


@dataclass(frozen=True, slots=True)
class CapacityObs:
    """One tick's capacity reading: `account` None means every account of the provider."""

    account: str | None
    full: bool
    executing: int | None = None
    max_jobs: int | None = None


def classify_error(exc: errors.UpstreamError) -> str:
    """Contract word for a failed snapshot: 401 / 402 by name, anything else `unreachable`."""
    if isinstance(exc, errors.Unauthorized) or exc.status == 401:
        return UNAUTHORIZED
    if isinstance(exc, errors.PaymentRequired) or exc.status == 402:
        return PAYMENT_REQUIRED
    return UNREACHABLE


# --------------------------------------------------------------------------- state machine


@dataclass(frozen=True, slots=True)
class AlertState:
    """Persisted state of one watched condition (`scope`: `upstream`, `capacity`,
    `capacity:{account}`) of one provider.

    `raw` is what the last ticks observed and `streak` for how many ticks in a row; `since` is
    when that raw condition began. `announced` is the bad condition currently announced (None:
    all clear), `episode` counts announcements so each episode's events get their own keys.
    `announced_at` is when the episode was announced (None: before reminders existed, read
    `since`), `reminded` how many reminders of it were posted (`bot.remind`).
    """

    scope: str
    raw: str = OK
    streak: int = STABLE
    since: datetime | None = None
    announced: str | None = None
    episode: int = 0
    announced_at: datetime | None = None
    reminded: int = 0


Transition = Literal["announce", "clear"]


def advance(
    state: AlertState, observed: str, *, now: datetime, need: int
) -> tuple[AlertState, Transition | None]:
    """One tick of flap damping. `need` is how many ticks in a row `observed` must hold before
    it is announced (or, for OK, before the all-clear). Returns the same object when nothing
    changed, so callers can skip the write."""
    need = max(1, need)
    if observed == state.raw:
        if state.streak >= STABLE:
            new = state
        else:
            new = replace(state, streak=state.streak + 1)
    else:
        new = replace(state, raw=observed, streak=1, since=now)
    if observed == OK:
        if new.announced is not None and new.streak >= need:
            cleared = replace(new, announced=None, streak=STABLE, announced_at=None, reminded=0)
            return cleared, "clear"
    elif new.announced != observed and new.streak >= need:
        episode = new.episode + 1
        announced = replace(
            new, announced=observed, episode=episode, streak=STABLE, announced_at=now, reminded=0
        )
        return announced, "announce"
    if new.streak >= need and new.streak < STABLE:
        # Settled and nothing left to announce: stop counting so steady ticks write nothing.
        new = replace(new, streak=STABLE)
    if new == state:
        return state, None
    return new, None


def capacity_events(
    provider: str,
    observations: Iterable[CapacityObs],
    states: Mapping[str, AlertState],
    *,
    now: datetime,
    flap_ticks: int,
) -> tuple[list[AlertState], list[Event]]:
    """Advance each observed capacity state; return the changed states and the events."""
    changed: list[AlertState] = []
    events: list[Event] = []
    for obs in observations:
        scope = capacity_scope(obs.account)
        old = states.get(scope) or AlertState(scope)
        new, what = advance(old, FULL if obs.full else OK, now=now, need=flap_ticks)
        if new is not old:
            changed.append(new)
        if what is not None:
            word = EXHAUSTED if what == "announce" else RESTORED
            events.append(capacity_event(provider, obs, word, new.episode, now))
    return changed, events


def capacity_event(
    provider: str, obs: CapacityObs, word: str, episode: int, now: datetime
) -> Event:
    who = "*" if obs.account is None else obs.account
    if obs.account is None:
        detail = "every account is full" if word == EXHAUSTED else "capacity is available again"
    elif obs.max_jobs is not None and obs.executing is not None:
        detail = f"{obs.executing}/{obs.max_jobs} slots in use"
    else:
        detail = None
    return Event(
        key=f"capacity:{provider}:{who}:{episode}:{word}",
        kind=EventKind.CAPACITY,
        provider=provider,
        word=word,
        at=now,
        account=obs.account,
        detail=detail,
    )


def upstream_events(
    provider: str,
    observed: str,
    states: Mapping[str, AlertState],
    *,
    now: datetime,
    flap_ticks: int,
    unreachable_after: int,
    detail: str | None = None,
) -> tuple[list[AlertState], list[Event]]:
    """Advance the provider's upstream state with `observed` (OK or a classify_error word).

    `unreachable` must hold `unreachable_after` ticks, the others and `recovered` `flap_ticks`."""
    old = states.get(UPSTREAM) or AlertState(UPSTREAM)
    need = max(unreachable_after, 1) if observed == UNREACHABLE else flap_ticks
    new, what = advance(old, observed, now=now, need=need)
    changed = [new] if new is not old else []
    if what is None:
        return changed, []
    word = observed if what == "announce" else RECOVERED
    event = Event(
        key=f"upstream:{provider}:{new.episode}:{word}",
        kind=EventKind.UPSTREAM,
        provider=provider,
        word=word,
        at=now,
        detail=detail if what == "announce" else None,
    )
    return changed, [event]


# --------------------------------------------------------------------------- job events


def job_key(provider: str, job_id: str, word: str) -> str:
    return f"job:{provider}:{job_id}:{word}"


def job_event(
    provider: str,
    job: Job | None,
    result: JobResult | None,
    outcome: Outcome,
    *,
    now: datetime,
    detail: str | None = None,
) -> Event:
    """The event for a job that left the executing list and got its outcome."""
    job_id = result.id if result is not None else job.id if job is not None else ""
    extra: dict[str, str] = {}
    kind = (result.kind if result is not None else None) or (job.kind if job else None)
    model = (result.model if result is not None else None) or (job.model if job else None)
    if kind:
        extra["kind"] = kind
    if model:
        extra["model"] = model
    if result is not None:
        if result.prompt:
            extra["prompt"] = result.prompt
        if result.raw_status:
            extra["status"] = result.raw_status
        extra.update(result.extra)
    if job is not None and job.started is not None:
        extra[job.start_label] = job.started.isoformat()
    account = (result.account if result is not None else None) or (job.account if job else None)
    reply_ref = (job.reply_ref if job is not None else None) or (
        result.reply_ref if result is not None else None
    )
    # A picture only of what was made: never of a failed, moderated or cancelled job.
    shows = result is not None and outcome is Outcome.COMPLETED
    return Event(
        key=job_key(provider, job_id, outcome.value),
        kind=EventKind.JOB,
        provider=provider,
        word=outcome.value,
        at=(result.updated if result is not None and result.updated else now),
        job_id=job_id,
        account=account,
        detail=detail if detail is not None else (result.error if result is not None else None),
        urls=result.urls if result is not None else (),
        extra=extra,
        reply_ref=reply_ref,
        image=previewable(result.image) if shows and result is not None else None,
        cover=previewable(result.cover) if shows and result is not None else None,
    )


def stuck_event(
    provider: str,
    job: Job,
    elapsed_seconds: float,
    *,
    now: datetime,
    limit: StuckLimit | None = None,
) -> Event:
    """`stuck` for `job`; with `limit`, the detail says which limit applied ("running for
    14m 00s; Seedance 2.0 usually finishes within 6m 00s")."""
    # (how long it ran is in the detail, in words: not again as a raw field)
    extra: dict[str, str] = {}
    if job.kind:
        extra["kind"] = job.kind
    if job.model:
        extra["model"] = job.model
    if job.started is not None:
        extra[job.start_label] = job.started.isoformat()
    return Event(
        key=job_key(provider, job.id, STUCK),
        kind=EventKind.JOB,
        provider=provider,
        word=STUCK,
        at=now,
        job_id=job.id,
        account=job.account,
        detail=f"{job.elapsed_words} {fmt_duration(elapsed_seconds)}"
        + (f"; {limit.reason()}" if limit is not None else ""),
        extra=extra,
        reply_ref=job.reply_ref,
    )


# --------------------------------------------------------------------------- routing


@dataclass(frozen=True, slots=True)
class Route:
    """Send alerts of `kind` (for `provider`, or any provider when None) to `channel_id`."""

    kind: EventKind
    provider: str | None
    channel_id: int


@dataclass(frozen=True, slots=True)
class Mute:
    """Drop alerts matching `provider` and `kind` (None: any) until `until` (None: unmuted)."""

    provider: str | None
    kind: EventKind | None
    until: datetime | None
    reason: str | None = None

    def active(self, now: datetime) -> bool:
        return self.until is None or self.until > now

    def matches(self, event: Event) -> bool:
        return (self.provider is None or self.provider == event.provider) and (
            self.kind is None or self.kind == event.kind
        )


@dataclass(frozen=True, slots=True)
class Mention:
    """Mention `role_id` in alerts of `kind` (for `provider`, or any when None)."""

    kind: EventKind
    provider: str | None
    role_id: int


#: How a member is told of their own jobs (`/alerts notify`): mentioned in the channel alert,
#: sent a direct message (the channel alert then pings nobody), or not at all.
Notify = Literal["mention", "dm", "off"]
NOTIFY_CHOICES: tuple[Notify, ...] = ("mention", "dm", "off")
#: What a member who never chose gets.
DEFAULT_NOTIFY: Notify = "mention"


@dataclass(frozen=True, slots=True)
class AlertConfig:
    routes: tuple[Route, ...] = ()
    mutes: tuple[Mute, ...] = ()
    mentions: tuple[Mention, ...] = ()
    #: `/alerts notify` choices by Discord user id (a user not in it: `DEFAULT_NOTIFY`).
    notify: Mapping[int, Notify] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One event as the outbox will hold it. `state` is `pending` (to be posted), `muted`
    (recorded, never posted) or `unrouted` (no channel configured: recorded, never posted).

    `dm`: a direct message to user `channel_id` (the person whose job it is), a row of its
    own beside the channel alert, so each is delivered (and may fail) on its own."""

    event: Event
    channel_id: int | None
    mention_role_id: int | None
    state: DecidedState
    dm: bool = False

    @property
    def key(self) -> str:
        """The outbox row's key: the event's, and for the direct message that plus `#dm`."""
        return f"{self.event.key}#dm" if self.dm else self.event.key


def _most_specific(event: Event, rules: Iterable[Route | Mention]) -> Route | Mention | None:
    """The rule for the event's kind and provider, else the one for its kind, else None."""
    kind_wide: Route | Mention | None = None
    for rule in rules:
        if rule.kind != event.kind:
            continue
        if rule.provider == event.provider:
            return rule
        if rule.provider is None:
            kind_wide = rule
    return kind_wide


def route_for(event: Event, routes: Iterable[Route], default_channel: int | None) -> int | None:
    """Channel for `event`: a route for its kind and provider, else for its kind, else default."""
    rule = _most_specific(event, routes)
    return rule.channel_id if isinstance(rule, Route) else default_channel


def mention_for(event: Event, mentions: Iterable[Mention]) -> int | None:
    """Role to mention for `event` (provider-specific beats kind-wide), or None."""
    rule = _most_specific(event, mentions)
    return rule.role_id if isinstance(rule, Mention) else None


def is_muted(event: Event, mutes: Iterable[Mute], now: datetime) -> bool:
    return any(m.active(now) and m.matches(event) for m in mutes)


def plan(
    events: Sequence[Event], config: AlertConfig, *, default_channel: int | None, now: datetime
) -> list[OutboxItem]:
    """Decide for each event: its channel, its mention, and whether it is posted at all.

    Muted events are dropped but recorded (state `muted`, never queued for later); so are
    events with no channel at all (`unrouted`). Either way their key is taken, so the same
    happening is not posted later by a re-run.

    A job event whose `reply_ref` names a Discord user (`discord:<id>`) tells that user as
    they chose (`notify_for`): `mention` puts them on the event (`mention_user_id`: the channel
    message pings them), `dm` adds a direct-message item (the channel alert pings nobody), `off`
    neither. A muted event's direct message is muted too; one with no channel still goes."""
    items: list[OutboxItem] = []
    for event in events:
        channel = route_for(event, config.routes, default_channel)
        mention = mention_for(event, config.mentions)
        muted = is_muted(event, config.mutes, now)
        state: DecidedState
        if muted:
            state = "muted"
        elif channel is None:
            state = "unrouted"
        else:
            state = "pending"
        user = discord_user(event.reply_ref) if event.kind is EventKind.JOB else None
        how = notify_for(user, config)
        if how == "mention":
            event = replace(event, mention_user_id=user)
        items.append(OutboxItem(event, channel, mention, state))
        if how == "dm" and user is not None:
            items.append(OutboxItem(event, user, None, "muted" if muted else "pending", dm=True))
    return items


def notify_for(user: int | None, config: AlertConfig) -> Notify | None:
    """How `user` is told of their job (None: there is nobody to tell)."""
    if user is None:
        return None
    return config.notify.get(user, DEFAULT_NOTIFY)
