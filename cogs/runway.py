"""The runway provider cog: its adapter lives in bot/providers/runway.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.providers.runway import PROVIDER
from cogs.base import ProviderCog

if TYPE_CHECKING:
    from bot.app import OpsBot


class RunwayCog(ProviderCog, name=PROVIDER.title):
    """Watches Runway."""

    provider_cls = PROVIDER


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(RunwayCog(bot))
