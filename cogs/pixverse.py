"""The pixverse provider cog: its adapter lives in bot/providers/pixverse.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.providers.pixverse import PROVIDER
from cogs.base import ProviderCog

if TYPE_CHECKING:
    from bot.app import OpsBot


class PixVerseCog(ProviderCog, name=PROVIDER.title):
    """Watches PixVerse."""

    provider_cls = PROVIDER


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(PixVerseCog(bot))
