"""The simulated providers, one module each: its accounts and ids, its API and its bodies.

A new provider's simulator part is a module here with its routes, bodies and `SPEC` (see
`bot.sim.providers.base`), and one entry in `SPECS` below.
"""

from bot.sim.providers import dreamina, kling, minimax, mureka, pixverse, runway
from bot.sim.providers.base import ProviderSpec

#: Every provider the simulator knows, by name. Each draws its first job number from the seed
#: in this order, before anything else is drawn: a provider added here changes what every
#: seed's population looks like (though not how it behaves).
SPECS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (pixverse.SPEC, minimax.SPEC, dreamina.SPEC, kling.SPEC, runway.SPEC, mureka.SPEC)
}
#: The providers a `Simulator` enables unless told otherwise.
PROVIDERS: tuple[str, ...] = tuple(SPECS)


def provider_at(segment: str) -> str | None:
    """The provider whose API a path's second segment names: its name, or its own `segment`
    where it has one (`runwayml` is Runway's). Read from `SPECS` on each call (a test may add
    a provider)."""
    spec = SPECS.get(segment)
    if spec is not None and spec.segment is None:
        return segment
    return next((name for name, s in SPECS.items() if s.segment == segment), None)


__all__ = ["PROVIDERS", "SPECS", "ProviderSpec", "provider_at"]
