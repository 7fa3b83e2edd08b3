"""The mureka provider cog: its adapter lives in bot/providers/mureka.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.providers.mureka import PROVIDER
from cogs.base import ProviderCog

if TYPE_CHECKING:
    from bot.app import OpsBot


class MurekaCog(ProviderCog, name=PROVIDER.title):
    """Watches Mureka."""

    provider_cls = PROVIDER


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(MurekaCog(bot))
