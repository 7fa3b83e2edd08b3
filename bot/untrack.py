"""The *Untrack* button of a `stuck` alert: a persistent `discord.ui.DynamicItem` whose
custom id says which job (so a click works after a restart), and the view an alert message
carries. What a click does is the `/cancel` cog's (`cogs/cancel.py`); this module only builds
and reads buttons (no HTTP, no SQL).

A custom id is at most 100 characters: ``opsbot:untrack:<provider>:id:<job id>`` when that fits,
else ``opsbot:untrack:<provider>:h:<hash>`` — the first 32 hex digits of the id's SHA-256, found
again among the jobs running now (a job that is not running cannot be untracked anyway). The
hash form is also used when accounts are redacted, so no raw e-mail sits in a message payload.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast

import discord

from bot.events import AlertWord, Event, EventKind
from bot.text import short_id

__all__ = [
    "CUSTOM_ID_MAX",
    "JobRef",
    "UntrackButton",
    "alert_view",
    "custom_id",
    "job_hash",
    "rebuilt_view",
]

PREFIX: Final = "opsbot:untrack:"
CUSTOM_ID_MAX: Final = 100
#: Buttons one message can carry (5 rows of 5).
BUTTONS_MAX: Final = 25
LABEL_MAX: Final = 80
_HASH_CHARS: Final = 32
_TEMPLATE: Final = r"opsbot:untrack:(?P<provider>[a-z0-9_]{1,40}):(?P<form>id|h):(?P<ref>.+)"


def job_hash(job_id: str) -> str:
    return hashlib.sha256(job_id.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]


@dataclass(frozen=True, slots=True)
class JobRef:
    """What a button names: a provider and either the job id or its hash."""

    provider: str
    job_id: str | None = None
    hash: str | None = None

    def matches(self, job_id: str) -> bool:
        return job_id == self.job_id if self.job_id is not None else job_hash(job_id) == self.hash


def custom_id(provider: str, job_id: str, *, redact: bool = False) -> str:
    plain = f"{PREFIX}{provider}:id:{job_id}"
    if len(plain) <= CUSTOM_ID_MAX and not redact:
        return plain
    return f"{PREFIX}{provider}:h:{job_hash(job_id)}"


def parse_custom_id(value: str) -> JobRef | None:
    match = re.fullmatch(_TEMPLATE, value, re.DOTALL)
    return _ref(match) if match is not None else None


def _ref(match: re.Match[str]) -> JobRef:
    if match["form"] == "id":
        return JobRef(match["provider"], job_id=match["ref"])
    return JobRef(match["provider"], hash=match["ref"])


class UntrackHandler(Protocol):
    """The cog that acts on a click (`cogs.cancel.CancelCog`)."""

    async def untrack_from_alert(self, interaction: discord.Interaction, ref: JobRef) -> None: ...


#: The name of the cog that handles clicks.
HANDLER_COG: Final = "Cancel"


class UntrackButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=_TEMPLATE,
):
    """🛑 Untrack: asks for a confirmation, then untracks the stuck job (see `cogs.cancel`)."""

    def __init__(
        self, cid: str, *, label: str = "Untrack", disabled: bool = False, ref: JobRef | None = None
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:LABEL_MAX],
                style=discord.ButtonStyle.danger,
                custom_id=cid,
                disabled=disabled,
            )
        )
        self.ref = ref if ref is not None else parse_custom_id(cid)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> UntrackButton:
        label = getattr(item, "label", None) or "Untrack"
        return cls(match.string, label=label, ref=_ref(match))

    async def callback(self, interaction: discord.Interaction[Any]) -> Any:
        handler = cast("UntrackHandler | None", interaction.client.get_cog(HANDLER_COG))
        if handler is None or self.ref is None:
            await interaction.response.send_message(
                "Untracking is not available on this bot right now.", ephemeral=True
            )
            return
        await handler.untrack_from_alert(interaction, self.ref)


def _stuck(events: Iterable[Event], untrackable: Collection[str]) -> list[Event]:
    seen: set[tuple[str, str]] = set()
    out = []
    for e in events:
        if e.kind is not EventKind.JOB or e.word != AlertWord.STUCK or not e.job_id:
            continue
        if e.provider not in untrackable or (e.provider, e.job_id) in seen:
            continue
        seen.add((e.provider, e.job_id))
        out.append(e)
    return out


def alert_view(
    events: Sequence[Event], untrackable: Collection[str], *, redact: bool = False
) -> discord.ui.View | None:
    """The buttons of an alert message: one *Untrack* per `stuck` job of a provider that can
    untrack (the first 25), or None. A lone button says "Untrack"; several name their job."""
    stuck = _stuck(events, untrackable)[:BUTTONS_MAX]
    if not stuck:
        return None
    view = discord.ui.View(timeout=None)
    for e in stuck:
        assert e.job_id is not None
        label = "Untrack" if len(stuck) == 1 else f"Untrack {short_id(e.job_id)}"
        view.add_item(UntrackButton(custom_id(e.provider, e.job_id, redact=redact), label=label))
    return view


def rebuilt_view(message: discord.Message, *, disable: str) -> discord.ui.View | None:
    """The message's *Untrack* buttons as they are, the one of custom id `disable` disabled
    (it was used), for editing the message; None when it carries none."""
    view = discord.ui.View(timeout=None)
    for row in message.components:
        for comp in getattr(row, "children", ()):
            cid = getattr(comp, "custom_id", None)
            if not isinstance(cid, str) or parse_custom_id(cid) is None:
                continue
            view.add_item(
                UntrackButton(
                    cid,
                    label=getattr(comp, "label", None) or "Untrack",
                    disabled=bool(getattr(comp, "disabled", False)) or cid == disable,
                )
            )
    return view if view.children else None
