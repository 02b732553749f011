"""Tiers: how often a pair is refreshed, how long its quotes are fresh, and who is in which.

A pair's popularity is a request count that halves every `half_life` seconds. Pairs are ranked
by it; the top `size` of tier 1 are in tier 1, the next in tier 2, and so on. A pair leaves a
tier only when its rank passes `hysteresis` times the tier's bottom, so it does not flap.
"""

from __future__ import annotations

import math

import msgspec


class Tier(msgspec.Struct, frozen=True, kw_only=True):
    tier: int
    refresh: float | None  # seconds between refreshes; None: on demand only
    ttl: float  # a quote is fresh this long
    stale_limit: float  # ...and may be served stale (while it is refreshed) this long
    size: int | None  # most pairs in the tier; None: everything else

    @property
    def period(self) -> float:
        """How often a quote of this tier is renewed: its refresh period, else its TTL."""
        return self.refresh if self.refresh is not None else self.ttl


DEFAULT_TIERS = [
    Tier(tier=1, refresh=5, ttl=10, stale_limit=60, size=50),
    Tier(tier=2, refresh=30, ttl=60, stale_limit=300, size=500),
    Tier(tier=3, refresh=180, ttl=300, stale_limit=1800, size=5000),
    Tier(tier=4, refresh=None, ttl=600, stale_limit=3600, size=None),
]
LOWEST = 4

# Huey priorities: higher runs first.
PRIORITY_ON_DEMAND = 100
PRIORITY_PREWARM = 10


def priority(tier: int) -> int:
    return 50 - tier * 10  # tier 1: 40, 2: 30, 3: 20


def decayed(score: float, score_at: float, now: float, half_life: float) -> float:
    return score * math.pow(2.0, -(now - score_at) / half_life) if score else 0.0


def assign(
    ranked: list[tuple[int, int]], tiers: dict[int, Tier], hysteresis: float
) -> dict[int, int]:
    """New tiers of the pairs that move. `ranked` is (pair id, current tier), most popular first.

    A pair goes up as soon as its rank is inside a better tier; it goes down only once its rank
    is beyond `hysteresis` x the bottom of the tier it is in.
    """
    bottoms, total = {}, 0
    for t in sorted(tiers):
        size = tiers[t].size
        total = math.inf if size is None else total + size
        bottoms[t] = total
    moves = {}
    for rank, (pair_id, current) in enumerate(ranked):
        earned = next(t for t in sorted(tiers) if rank < bottoms[t])
        if earned < current or (earned > current and rank >= bottoms[current] * hysteresis):
            moves[pair_id] = earned
    return moves


MAX_SECONDS = 365 * 86400.0  # longest refresh, TTL or stale limit an operator may set
MAX_SIZE = 10_000_000  # most pairs in one tier
MAX_NUMBER_CHARS = 32  # longer text is no number we accept (and int() has a 4300-digit limit)


def validate(number: int, refresh, ttl, stale_limit, size) -> tuple[Tier | None, dict[str, str]]:
    """A tier from form or JSON values, or the problems by field name."""
    errors: dict[str, str] = {}
    values = {}
    for name, raw, optional in (
        ("refresh", refresh, number == LOWEST),
        ("ttl", ttl, False),
        ("stale_limit", stale_limit, False),
        ("size", size, number == LOWEST),
    ):
        if raw in (None, ""):
            if not optional:
                errors[name] = "required"
            values[name] = None
            continue
        try:
            if len(str(raw)) > MAX_NUMBER_CHARS:
                raise ValueError
            value = float(raw) if name != "size" else int(raw)
        except (TypeError, ValueError):
            errors[name] = "must be a number" if name != "size" else "must be a whole number"
            continue
        most = MAX_SIZE if name == "size" else MAX_SECONDS
        if not math.isfinite(value) or value <= 0:
            errors[name] = "must be greater than zero"
        elif value > most:
            errors[name] = f"must be at most {most:g}" + (" seconds" if name != "size" else "")
        values[name] = value
    if number < 1 or number > LOWEST:
        errors["tier"] = f"tiers are 1 to {LOWEST}"
    if not errors:
        if values["stale_limit"] < values["ttl"]:
            errors["stale_limit"] = "must be at least the TTL"
        if values["refresh"] is not None and values["refresh"] > values["ttl"]:
            errors["refresh"] = (
                "must not exceed the TTL, or quotes would go stale between refreshes"
            )
    if errors:
        return None, errors
    return Tier(tier=number, **values), {}
