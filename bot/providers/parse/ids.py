"""What a job id embeds: its account and its kind."""

from __future__ import annotations

import re
from typing import Final

from bot.models import Kind

# user:<user>-<provider>:<account>-<kind>:<n>  (PixVerse v2, MiniMax, Runway: …-task:<uuid>).
# The account is greedy so e-mails with hyphens survive; the user part stops at the first
# "-<word>:" so user ids with hyphens do too.
_USER_ID = re.compile(r"user:[^:]*?-[A-Za-z0-9_.]+:(?P<account>.+)-(?P<kind>[A-Za-z]+):[^:]*")
# j<digits><letter>-u<user>-<account>:<provider>  (Dreamina: account is REGION:email).
_J_ID = re.compile(r"j\d*(?P<kind>[A-Za-z])-u[^-:]*-(?P<account>.+):[A-Za-z][\w.-]*")
# The letter after a j-id's digits: v(ideo) in the Dreamina docs, m(usic) in Mureka's. [inferred]
_J_KINDS: Final[dict[str, Kind]] = {"v": "video", "i": "image", "m": "music"}


def account_from_id(job_id: object) -> str | None:
    """The account a job id embeds, or None when it embeds none.

    `user:U-pixverse:EMAIL-video:N` → `EMAIL`; `user:U-minimax:ACCOUNT-image:N` → `ACCOUNT`;
    `j0223140530123456789v-u12345-US:a@x.com:dreamina` → `US:a@x.com` (Dreamina's
    `REGION:email`, the same key as its scheduler groups and accounts map). Never raises.
    """
    if not isinstance(job_id, str):
        return None
    m = _USER_ID.fullmatch(job_id) or _J_ID.fullmatch(job_id)
    return m["account"] if m else None


def kind_from_id(job_id: object) -> Kind | None:
    """`video`/`image`/`music` as the id spells it (`…-image:N`; Dreamina's `j…v-`), else None."""
    if not isinstance(job_id, str):
        return None
    m = _USER_ID.fullmatch(job_id)
    if m is not None:
        return as_kind(m["kind"])
    m = _J_ID.fullmatch(job_id)
    if m is not None:
        return _J_KINDS.get(m["kind"].lower())
    return None


def as_kind(value: object) -> Kind | None:
    """`value` if it is one of the kinds the model knows (case-insensitive), else None."""
    if not isinstance(value, str):
        return None
    word = value.strip().lower()
    if word == "video":
        return "video"
    if word == "image":
        return "image"
    if word == "music":
        return "music"
    return None


def _read_id(job_id: str) -> tuple[Kind | None, str | None]:
    """`(kind_from_id(job_id), account_from_id(job_id))` from one match (`memos.id_info`
    remembers it)."""
    m = _USER_ID.fullmatch(job_id)
    if m is not None:
        return as_kind(m["kind"]), m["account"]
    m = _J_ID.fullmatch(job_id)
    return (None, None) if m is None else (_J_KINDS.get(m["kind"].lower()), m["account"])
