"""Show embeds in a terminal with rich: what Discord would show, for `opsbot demo`.

Discord timestamps (``<t:1727229316:R>``) become readable local text ("3 min ago",
"2024-09-25 01:55"), markdown escapes are removed, ``**bold**`` is bold and masked links show
their label and target. Upstream text is never interpreted as rich markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import discord
from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.style import Style
from rich.table import Table
from rich.text import Text

from bot.text import printable

__all__ = ["discord_to_text", "print_embeds", "render_embed", "render_timestamp"]

_TOKEN = re.compile(
    r"\\(?P<esc>[^0-9A-Za-z\s])"
    r"|(?P<bold>\*\*)"
    r"|\[(?P<label>(?:\\.|[^\]\\])*)\]\((?P<url>[^)\s]+)\)"
    r"|<t:(?P<ts>-?\d+)(?::(?P<style>[tTdDfFRsS]))?>"
)

_FORMATS = {
    "t": "%H:%M",
    "T": "%H:%M:%S",
    "d": "%Y-%m-%d",
    "D": "%d %B %Y",
    "f": "%Y-%m-%d %H:%M",
    "F": "%A %d %B %Y %H:%M",
    "s": "%Y-%m-%d %H:%M",
    "S": "%Y-%m-%d %H:%M:%S",
}


def _relative(seconds: float) -> str:
    ahead = seconds > 0
    s = abs(seconds)
    if s < 45:
        return "just now" if not ahead else "in a few seconds"
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if s >= size * (0.75 if unit != "min" else 1):
            n = round(s / size)
            text = f"{n} {unit}{'s' if unit == 'day' and n != 1 else ''}"
            return f"in {text}" if ahead else f"{text} ago"
    return "just now"


def render_timestamp(ts: int, style: str | None, now: datetime) -> str:
    """A Discord timestamp as readable local text; `now` anchors relative ("R") styles."""
    dt = datetime.fromtimestamp(ts, UTC)
    if style == "R":
        return _relative((dt - now).total_seconds())
    return dt.astimezone().strftime(_FORMATS.get(style or "f", _FORMATS["f"]))


def _unescape(s: str) -> str:
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", s)


def discord_to_text(s: str | None, *, now: datetime, style: str | Style = "") -> Text:
    """Discord markdown (the subset opsbot writes) → a rich `Text`, never parsed as markup."""
    out = Text(style=style)
    if not s:
        return out
    s = printable(s)  # upstream text inside an embed: no terminal escape sequence gets through
    bold = False
    pos = 0
    for m in _TOKEN.finditer(s):
        if m.start() > pos:
            out.append(s[pos : m.start()], style="bold" if bold else "")
        pos = m.end()
        cur = "bold" if bold else ""
        if m.group("esc") is not None:
            out.append(m.group("esc"), style=cur)
        elif m.group("bold"):
            bold = not bold
        elif m.group("url") is not None:
            out.append(_unescape(m.group("label")), style=Style(underline=True, bold=bold))
            out.append(f" ({m.group('url')})", style="dim")
        elif m.group("ts") is not None:
            out.append(
                render_timestamp(int(m.group("ts")), m.group("style"), now),
                style=Style(color="cyan", bold=bold),
            )
    if pos < len(s):
        out.append(s[pos:], style="bold" if bold else "")
    return out


def _fields_table(fields: Sequence[tuple[str, str, bool]], now: datetime) -> RenderableType:
    """Fields laid out like Discord: inline fields up to three a row, others full width."""
    rows: list[list[tuple[str, str]]] = []
    row_open = False
    for name, value, inline in fields:
        if inline and row_open and len(rows[-1]) < 3:
            rows[-1].append((name, value))
        else:
            rows.append([(name, value)])
        row_open = inline
    grids: list[RenderableType] = []
    for row in rows:
        grid = Table.grid(padding=(0, 3), expand=True)
        for _ in row:
            grid.add_column(ratio=1)
        cells: list[RenderableType] = []
        for name, value in row:
            cell = discord_to_text(name, now=now, style="bold")
            cell.append("\n")
            cell.append_text(discord_to_text(value, now=now))
            cells.append(cell)
        grid.add_row(*cells)
        if grids:
            grids.append(Text(""))
        grids.append(grid)
    return Group(*grids)


def render_embed(embed: discord.Embed, *, now: datetime | None = None) -> RenderableType:
    """One embed as a rich Panel: title, description, fields as a grid, the picture and the
    thumbnail it shows (their URLs: a terminal shows no image), footer."""
    now = now or datetime.now(UTC)
    parts: list[RenderableType] = []
    if embed.author.name:
        parts.append(discord_to_text(embed.author.name, now=now, style="italic"))
    if embed.description:
        parts.append(discord_to_text(embed.description, now=now))
    fields = [(f.name or "", f.value or "", bool(f.inline)) for f in embed.fields]
    if fields:
        if parts:
            parts.append(Text(""))
        parts.append(_fields_table(fields, now))
    for what, url in (("image", embed.image.url), ("thumbnail", embed.thumbnail.url)):
        if url:
            parts.append(Text.assemble((f"🖼 {what} ", "bold"), (printable(url), "underline")))
    footer_bits = []
    if embed.footer.text:
        footer_bits.append(_unescape(embed.footer.text))
    if embed.timestamp:
        footer_bits.append(embed.timestamp.astimezone().strftime("%Y-%m-%d %H:%M:%S"))
    if footer_bits:
        parts.append(Text(" • ".join(footer_bits), style="dim"))
    colour = embed.colour
    border = Style(color=f"#{colour.value:06x}") if colour is not None else Style()
    title = discord_to_text(embed.title, now=now, style="bold") if embed.title else None
    return Panel(
        Group(*parts),
        title=title,
        title_align="left",
        border_style=border,
        box=box.ROUNDED,
        expand=True,
    )


def print_embeds(
    console: Console,
    embeds: discord.Embed | Iterable[discord.Embed],
    *,
    now: datetime | None = None,
) -> None:
    """Print one embed or all embeds of a message, in order."""
    batch = [embeds] if isinstance(embeds, discord.Embed) else list(embeds)
    for e in batch:
        console.print(render_embed(e, now=now))
