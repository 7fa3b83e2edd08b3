"""The kling provider cog: its adapter lives in bot/providers/kling.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.providers.kling import PROVIDER
from cogs.base import ProviderCog

if TYPE_CHECKING:
    from bot.app import OpsBot


class KlingCog(ProviderCog, name=PROVIDER.title):
    """Watches Kling."""

    provider_cls = PROVIDER


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(KlingCog(bot))
