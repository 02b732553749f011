"""What the bench asks for and when: Zipf-popular pairs at a fixed rate, log-uniform amounts."""

from __future__ import annotations

import random
from itertools import permutations
from typing import NamedTuple

DECIMALS = 6  # digits after the point in the amounts sent; every devchain token has at least 6


class Ask(NamedTuple):
    at: float  # seconds after the start of the run
    token_in: str
    token_out: str
    amount: str  # exact decimal text, as a client would type it

    def path(self, chain: str = "devchain") -> str:
        return f"/price/{chain}/{self.token_in}/{self.token_out}?amount={self.amount}"


def directed_pairs(tokens: list[str]) -> list[tuple[str, str]]:
    return list(permutations(tokens, 2))


def zipf_schedule(
    pairs: list[tuple[str, str]],
    rate: float,
    seconds: float,
    exponent: float,
    seed: int,
    decades: tuple[int, int] = (-3, 3),
) -> list[Ask]:
    """Every request of the run: pairs ranked at random and drawn with weight 1/rank**exponent,
    an amount per request, sent every 1/rate seconds."""
    rng = random.Random(seed)
    ranked = pairs[:]
    rng.shuffle(ranked)
    weights = [1 / (rank**exponent) for rank in range(1, len(ranked) + 1)]
    chosen = rng.choices(ranked, weights=weights, k=int(rate * seconds))
    return [
        Ask(i / rate, a, b, log_uniform_amount(rng, *decades)) for i, (a, b) in enumerate(chosen)
    ]


def log_uniform_amount(rng: random.Random, low: int, high: int) -> str:
    """10**uniform(low, high) units, written from an integer count of 10**-DECIMALS units so the
    text is exact: no float ever reaches what is sent."""
    scale = 10**DECIMALS
    units = int(10 ** rng.uniform(low + DECIMALS, high + DECIMALS))
    return decimal_text(max(units, 1), scale)


def decimal_text(units: int, scale: int) -> str:
    """`units`/`scale` as plain decimal text without trailing zeros ("0.0125", "42")."""
    whole, part = divmod(units, scale)
    digits = str(part).rjust(len(str(scale)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)
