"""One message of alerts: an embed per event while they fit, else summaries that still count
every event by its word (per provider and kind), within every Discord limit. Pictures of
completed jobs (`bot.embeds.preview`) go on the first `PREVIEWS_PER_MESSAGE` embeds at most;
a summarised batch opens with that many small picture embeds, then the summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import discord
from discord.utils import format_dt

from bot.embeds.alert import alert_embed, alert_target, alert_title, has_preview
from bot.embeds.layout import MESSAGE_BUDGET, Block, cut, plural, provider_title, shown
from bot.embeds.limits import (
    DESCRIPTION_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    MESSAGE_EMBEDS_MAX,
    MESSAGE_TOTAL_MAX,
    TITLE_MAX,
    embed_size,
    text_len,
)
from bot.embeds.preview import PREVIEWS_PER_MESSAGE, set_preview
from bot.embeds.style import word_colour, worst
from bot.events import AlertWord, Event, EventKind
from bot.text import display_id, escape

__all__ = ["alert_batch"]

_KNOWN_WORDS: Final = frozenset(AlertWord)
#: Items (job ids, accounts) named per word in a summary before "and N more".
ITEMS_PER_WORD: Final = 5
#: A job id in a summary line.
ITEM_ID_CHARS: Final = 80
#: Many groups: room kept for the embeds' titles and footers, and the least a shown group gets.
GROUPS_RESERVE: Final = 600
GROUP_MIN_CHARS: Final = 200
#: The folded "… and N more groups" field.
REST_CHARS: Final = 500


def _ordered_words(counts: Mapping[str, int]) -> list[str]:
    """The words in `AlertWord` order; any other word after them, as first seen."""
    known = [w for w in AlertWord if w in counts]
    return known + [w for w in counts if w not in _KNOWN_WORDS]


@dataclass
class _Section:
    provider: str
    kind: EventKind
    events: list[Event]

    def counts(self) -> Counter[str]:
        return Counter(e.word for e in self.events)

    def colour(self) -> discord.Colour:
        return worst(word_colour(w) for w in self.counts())


def _sections(events: Sequence[Event]) -> list[_Section]:
    by_key: dict[tuple[str, EventKind], _Section] = {}
    for ev in events:
        key = (ev.provider, ev.kind)
        if key not in by_key:
            by_key[key] = _Section(ev.provider, ev.kind, [])
        by_key[key].events.append(ev)
    return list(by_key.values())


def _section_headline(sec: _Section, titles: Mapping[str, str]) -> str:
    """``37 jobs completed on PixVerse, 2 failed``, ``PixVerse upstream unreachable ×1``."""
    ptitle = provider_title(sec.provider, titles)
    counts = sec.counts()
    words = _ordered_words(counts)
    if sec.kind is EventKind.UPSTREAM:
        return f"{ptitle} upstream " + ", ".join(f"{escape(w)} ×{counts[w]}" for w in words)
    if sec.kind is EventKind.ACCOUNT:
        return f"{ptitle} " + ", ".join(f"{escape(w)} ×{counts[w]}" for w in words)
    noun = "job" if sec.kind is EventKind.JOB else "account"
    first, *rest = words
    parts = [f"{plural(counts[first], noun)} {escape(first)} on {ptitle}"]
    parts += [f"{counts[w]} {escape(w)}" for w in rest]
    return ", ".join(parts)


def _event_item(event: Event, redact: bool) -> str:
    if event.kind is EventKind.JOB and event.job_id:
        return shown(display_id(event.job_id, redact), False, ITEM_ID_CHARS)
    if event.kind is EventKind.CAPACITY or (event.kind is EventKind.ACCOUNT and event.account):
        return alert_target(event, redact)
    return format_dt(event.at, "T")


def _word_line(sec: _Section, word: str, count: int, redact: bool, budget: int) -> str:
    """``**completed** (37): id1, id2 and 35 more`` within `budget` characters."""
    head = f"**{escape(word)}** ({count})"
    tail = text_len(f" and {count} more")
    items: list[str] = []
    size = text_len(head) + 2
    for ev in sec.events:
        if ev.word != word:
            continue
        item = _event_item(ev, redact)
        if len(items) >= ITEMS_PER_WORD or size + text_len(item) + 2 + tail > budget:
            break
        items.append(item)
        size += text_len(item) + 2
    if not items:
        return head
    more = f" and {count - len(items)} more" if len(items) < count else ""
    return f"{head}: {', '.join(items)}{more}"


def _section_lines(sec: _Section, redact: bool, budget: int) -> str:
    """One line per word: its count, then as many items as fit, then "and N more"."""
    counts = sec.counts()
    words = _ordered_words(counts)
    per_word = max(budget // max(len(words), 1), 0)
    return "\n".join(_word_line(sec, w, counts[w], redact, per_word) for w in words)


def alert_batch(
    events: Sequence[Event],
    *,
    titles: Mapping[str, str],
    redact: bool,
    max_embeds: int = MESSAGE_EMBEDS_MAX,
    previews: bool = True,
) -> list[discord.Embed]:
    """Embeds for ONE message. One embed per event when they fit (≤ `max_embeds`, ≤ 6000
    characters together); otherwise a summary per provider and kind that still counts every
    event by its word, listing a bounded number of ids. With `previews` (`SHOW_PREVIEWS`),
    the first `PREVIEWS_PER_MESSAGE` completed jobs with a picture show it: on their own
    embeds, or, when summarised, as small embeds before the summary."""
    if not events:
        return []
    max_embeds = max(1, min(max_embeds, MESSAGE_EMBEDS_MAX))
    if len(events) <= max_embeds:
        shown_pictures = 0
        singles = []
        for ev in events:
            pictured = previews and shown_pictures < PREVIEWS_PER_MESSAGE
            pictured = pictured and has_preview(ev, redact)
            shown_pictures += pictured
            singles.append(alert_embed(ev, titles=titles, redact=redact, previews=pictured))
        if sum(embed_size(e) for e in singles) <= MESSAGE_TOTAL_MAX:
            return singles

    pictures: list[discord.Embed] = []
    if previews and max_embeds > 1:
        room = min(PREVIEWS_PER_MESSAGE, max_embeds - 1)
        firsts = [ev for ev in events if has_preview(ev, redact)][:room]
        pictures = [_picture_embed(ev, titles, redact) for ev in firsts]
    budget = MESSAGE_BUDGET - sum(embed_size(e) for e in pictures)
    max_embeds -= len(pictures)
    sections = _sections(events)
    footer = f"{plural(len(events), 'alert')} at once — summarised"
    if len(sections) <= max_embeds:
        return pictures + _summary_embeds(sections, titles, redact, footer, budget)
    return pictures + _summary_fields(sections, titles, redact, footer, max_embeds, budget)


#: A job id on a picture embed of a summarised batch.
PICTURE_ID_CHARS: Final = 100


def _picture_embed(event: Event, titles: Mapping[str, str], redact: bool) -> discord.Embed:
    """A completed job's picture before a summary: its title, its id, the picture; small
    (under 400 characters), so the summary keeps nearly all of the message's room."""
    job_id = shown(display_id(event.job_id or "", redact), False, PICTURE_ID_CHARS)
    e = discord.Embed(
        title=alert_title(event, titles=titles, redact=redact),
        description=f"**Job** {job_id}",
        colour=word_colour(event.word),
        timestamp=event.at,
    )
    set_preview(e, image=event.image, cover=event.cover, redact=redact)
    return e


def _summary_embeds(
    sections: Sequence[_Section],
    titles: Mapping[str, str],
    redact: bool,
    footer: str,
    room: int = MESSAGE_BUDGET,
) -> list[discord.Embed]:
    """An embed per provider and kind: the headline as title, a line per word, all within
    `room` characters."""
    heads = [cut(_section_headline(s, titles), TITLE_MAX) for s in sections]
    fixed = sum(text_len(h) for h in heads) + len(sections) * text_len(footer)
    budget = min(DESCRIPTION_MAX, max((room - fixed) // len(sections), 0))
    out = []
    for sec, head in zip(sections, heads, strict=True):
        e = discord.Embed(
            title=head,
            description=cut(_section_lines(sec, redact, budget), DESCRIPTION_MAX),
            colour=sec.colour(),
            timestamp=max(ev.at for ev in sec.events),
        )
        e.set_footer(text=footer)
        out.append(e)
    return out


def _folded(rest: Sequence[_Section]) -> Block:
    """The groups beyond what fits, as one field of counts by word."""
    counts: Counter[str] = Counter()
    for sec in rest:
        counts.update(sec.counts())
    providers = len({s.provider for s in rest})
    value = ", ".join(f"{counts[w]} {escape(w)}" for w in _ordered_words(counts))
    return Block(
        f"… and {plural(len(rest), 'more group')} on {plural(providers, 'provider')}",
        cut(value, REST_CHARS),
    )


def _summary_fields(
    sections: Sequence[_Section],
    titles: Mapping[str, str],
    redact: bool,
    footer: str,
    max_embeds: int,
    budget: int = MESSAGE_BUDGET,
) -> list[discord.Embed]:
    """Many provider/kind groups: one field each, packed into at most `max_embeds` embeds
    within `budget` characters; groups beyond what fits are folded into one last field of
    counts by word."""
    title = "Alert summary"
    room = budget - max_embeds * (text_len(title) + text_len(footer)) - GROUPS_RESERVE
    slots = min(max_embeds * FIELDS_MAX - 1, max(room // GROUP_MIN_CHARS, 1))
    shown_groups, rest = list(sections[:slots]), list(sections[slots:])
    per_field = min(FIELD_VALUE_MAX, room // max(len(shown_groups), 1))

    blocks: list[Block] = []
    for sec in shown_groups:
        name = cut(_section_headline(sec, titles), min(FIELD_NAME_MAX, per_field // 2))
        value = _section_lines(sec, redact, per_field - text_len(name))
        blocks.append(Block(name, cut(value, min(FIELD_VALUE_MAX, per_field))))
    if rest:
        blocks.append(_folded(rest))

    per_embed = min(-(-len(blocks) // max_embeds), FIELDS_MAX)
    colour = worst(s.colour() for s in sections)
    last = max(ev.at for s in sections for ev in s.events)
    out = []
    for i in range(0, len(blocks), per_embed):
        e = discord.Embed(title=title, colour=colour, timestamp=last)
        for b in blocks[i : i + per_embed]:
            e.add_field(name=b.name, value=b.value, inline=False)
        e.set_footer(text=footer)
        out.append(e)
    return out
