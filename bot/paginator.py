"""◀ / ▶ buttons that turn the pages of a multi-page reply. Only the person who ran the command
may turn them; after `timeout` seconds the buttons are disabled."""

from __future__ import annotations

from typing import Any

import discord

__all__ = ["NOT_OWNER_MESSAGE", "Paginator"]

NOT_OWNER_MESSAGE = "Only the person who ran the command can turn these pages."

PREV_ID = "opsbot:page:prev"
NEXT_ID = "opsbot:page:next"
COUNT_ID = "opsbot:page:count"


class Paginator(discord.ui.View):
    """A view over `pages`. Custom ids are ``opsbot:page:prev:<view id>`` and
    ``opsbot:page:next:<view id>`` (plus a disabled ``opsbot:page:count:<view id>`` label)."""

    def __init__(
        self, pages: list[discord.Embed], *, owner_id: int, timeout: float | None = 180
    ) -> None:
        if not pages:
            raise ValueError("a Paginator needs at least one page")
        super().__init__(timeout=timeout)
        self.pages = pages
        self.owner_id = owner_id
        self.index = 0
        self.message: discord.Message | None = None
        self.previous_page.custom_id = f"{PREV_ID}:{self.id}"
        self.next_page.custom_id = f"{NEXT_ID}:{self.id}"
        self.counter.custom_id = f"{COUNT_ID}:{self.id}"
        self._sync()

    @classmethod
    def for_pages(
        cls, pages: list[discord.Embed], *, owner_id: int, timeout: float | None = 180
    ) -> Paginator | None:
        """A paginator when there is more than one page, else None (send the page alone)."""
        if len(pages) <= 1:
            return None
        return cls(pages, owner_id=owner_id, timeout=timeout)

    @property
    def first_page(self) -> discord.Embed:
        return self.pages[0]

    @property
    def current_page(self) -> discord.Embed:
        return self.pages[self.index]

    def _sync(self) -> None:
        self.previous_page.disabled = self.index <= 0
        self.next_page.disabled = self.index >= len(self.pages) - 1
        self.counter.label = f"{self.index + 1}/{len(self.pages)}"

    def go_to(self, index: int) -> discord.Embed:
        """Move to page `index` (clamped) and return it."""
        self.index = max(0, min(index, len(self.pages) - 1))
        self._sync()
        return self.current_page

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        user = interaction.user
        if user is not None and user.id == self.owner_id:
            return True
        await interaction.response.send_message(NOT_OWNER_MESSAGE, ephemeral=True)
        return False

    async def _show(self, interaction: discord.Interaction[Any], index: int) -> None:
        page = self.go_to(index)
        await interaction.response.edit_message(embed=page, view=self)

    @discord.ui.button(label="◀", style=discord.ButtonStyle.secondary, custom_id=PREV_ID)
    async def previous_page(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Paginator]
    ) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(
        label="1/1", style=discord.ButtonStyle.secondary, custom_id=COUNT_ID, disabled=True
    )
    async def counter(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Paginator]
    ) -> None:
        await interaction.response.defer()

    @discord.ui.button(label="▶", style=discord.ButtonStyle.secondary, custom_id=NEXT_ID)
    async def next_page(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Paginator]
    ) -> None:
        await self._show(interaction, self.index + 1)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException:
                pass  # message deleted or token expired: nothing left to disable
