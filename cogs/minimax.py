"""The minimax provider cog: its adapter lives in bot/providers/minimax.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.providers.minimax import PROVIDER
from cogs.base import ProviderCog

if TYPE_CHECKING:
    from bot.app import OpsBot


class MiniMaxCog(ProviderCog, name=PROVIDER.title):
    """Watches MiniMax."""

    provider_cls = PROVIDER


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(MiniMaxCog(bot))
