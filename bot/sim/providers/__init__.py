"""The simulated providers, one module each: its accounts and ids, its API and its bodies.

A new provider's simulator part is a module here with its routes, bodies and `SPEC` (see
`bot.sim.providers.base`), and one entry in `SPECS` below.
"""

from bot.sim.providers import dreamina, kling, minimax, mureka, pixverse
from bot.sim.providers.base import ProviderSpec

#: Every provider the simulator knows, by name. Each draws its first job number from the seed
#: in this order, before anything else is drawn: a provider added here changes what every
#: seed's population looks like (though not how it behaves).
SPECS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (pixverse.SPEC, minimax.SPEC, dreamina.SPEC, kling.SPEC, mureka.SPEC)
}
#: The providers a `Simulator` enables unless told otherwise.
PROVIDERS: tuple[str, ...] = tuple(SPECS)

__all__ = ["PROVIDERS", "SPECS", "ProviderSpec"]
