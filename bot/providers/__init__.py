"""Provider adapters are discovered by module name, so adding one touches nothing here."""

from __future__ import annotations

import importlib
import pkgutil

from bot.providers.base import Provider

__all__ = ["Provider", "known", "load"]

_NOT_PROVIDERS = {"base", "parse"}


def known() -> list[str]:
    """Names of the provider modules shipped in this package."""
    return sorted(
        m.name
        for m in pkgutil.iter_modules(__path__)
        if m.name not in _NOT_PROVIDERS and not m.name.startswith("_")
    )


def load(name: str) -> type[Provider]:
    """The adapter class of provider `name` (its module's `PROVIDER`)."""
    module = importlib.import_module(f"{__name__}.{name}")
    cls: type[Provider] = module.PROVIDER
    return cls
