"""The dreamina provider cog: its adapter lives in bot/providers/dreamina.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.providers.dreamina import PROVIDER
from cogs.base import ProviderCog

if TYPE_CHECKING:
    from bot.app import OpsBot


class DreaminaCog(ProviderCog, name=PROVIDER.title):
    """Watches Dreamina."""

    provider_cls = PROVIDER


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(DreaminaCog(bot))
