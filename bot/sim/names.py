"""Plausible, obviously fake names for the simulated population (all domains are `.example`)."""

from __future__ import annotations

import random

FIRST = (
    "ava",
    "liam",
    "mia",
    "noah",
    "zoe",
    "ethan",
    "lena",
    "omar",
    "iris",
    "theo",
    "nora",
    "kai",
    "ruby",
    "felix",
    "maya",
    "leo",
    "ines",
    "hugo",
    "sara",
    "ivan",
    "yuki",
    "arjun",
    "chloe",
    "mateo",
    "elif",
    "jonas",
    "aiko",
    "dario",
    "freya",
    "tariq",
    "olga",
    "pablo",
    "rosa",
    "sven",
    "amara",
    "bruno",
    "clara",
    "dev",
    "emma",
    "finn",
    "greta",
    "hana",
    "jade",
    "kofi",
    "lucia",
)
LAST = (
    "smith",
    "garcia",
    "chen",
    "novak",
    "okafor",
    "rossi",
    "tanaka",
    "muller",
    "silva",
    "kim",
    "haddad",
    "larsen",
    "patel",
    "dubois",
    "kowalski",
    "moreau",
    "nguyen",
    "schmidt",
    "torres",
    "ivanova",
    "berg",
    "costa",
    "fischer",
    "horvat",
    "jensen",
    "kaur",
    "lopez",
    "mendes",
    "ward",
)
DOMAINS = (
    "studio-{n}.example",
    "render-{n}.example",
    "pixelworks.example",
    "frameshop.example",
    "northlight.example",
    "motionlab.example",
    "clipfarm-{n}.example",
    "reelhouse.example",
)

_SUBJECTS = (
    "a red fox",
    "an astronaut",
    "a paper boat",
    "a lighthouse keeper",
    "two koi fish",
    "a vintage tram",
    "a snow leopard",
    "a street musician",
    "a hot air balloon",
    "a robot chef",
    "a hummingbird",
    "a lone surfer",
    "a steam locomotive",
    "a jellyfish swarm",
    "a city skyline",
)
_ACTIONS = (
    "drifting through",
    "running across",
    "dancing in",
    "gliding over",
    "waking up in",
    "circling above",
    "walking slowly through",
    "emerging from",
    "spinning inside",
)
_PLACES = (
    "a neon-lit alley at night",
    "a misty pine forest",
    "golden wheat fields",
    "a flooded cathedral",
    "the rings of Saturn",
    "a rainy Tokyo crossing",
    "a desert at dawn",
    "an underwater garden",
    "a snowy mountain pass",
    "a crowded night market",
    "a sunlit greenhouse",
)
_STYLES = (
    "cinematic, 35mm film",
    "studio ghibli style",
    "hyperrealistic, 8k",
    "watercolor",
    "slow motion, shallow depth of field",
    "claymation",
    "drone shot",
    "noir, high contrast",
    "pastel colors, soft light",
    "handheld camera, documentary",
)


def unique_emails(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """`count` new addresses like `ava.smith@studio-7.example`, none of them in `taken`."""
    out: list[str] = []
    while len(out) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        domain = rng.choice(DOMAINS).format(n=rng.randint(1, 12))
        local = rng.choice((f"{first}.{last}", f"{first}{last[0]}", f"{first}.{last}{{n}}"))
        if "{n}" in local:
            local = local.format(n=rng.randint(2, 99))
        email = f"{local}@{domain}"
        if email not in taken:
            taken.add(email)
            out.append(email)
    return out


def unique_numeric_ids(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """`count` new six-digit account ids like `412345` (MiniMax style)."""
    out: list[str] = []
    while len(out) < count:
        ident = str(rng.randint(100_000, 999_999))
        if ident not in taken:
            taken.add(ident)
            out.append(ident)
    return out


def prompt(rng: random.Random) -> str:
    """A short generation prompt."""
    return (
        f"{rng.choice(_SUBJECTS)} {rng.choice(_ACTIONS)} {rng.choice(_PLACES)}, "
        f"{rng.choice(_STYLES)}"
    )
