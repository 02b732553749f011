"""UniswapV3Pool's swap: the state a swap reads, and its loop over tick ranges."""

from __future__ import annotations

from dataclasses import dataclass, field

from pricefeed.chain.v3 import MathError
from pricefeed.chain.v3.liquidity_math import add_delta
from pricefeed.chain.v3.swap_math import compute_swap_step
from pricefeed.chain.v3.tick_bitmap import (
    Bitmap,
    next_initialized_tick_within_one_word,
    past_empty_words,
)
from pricefeed.chain.v3.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)


@dataclass
class V3Pool:
    """What a swap reads: price, tick and liquidity now, and the initialized ticks of the
    bitmap words held (a word absent from `bitmap` is unknown, not empty)."""

    sqrt_price_x96: int
    tick: int
    liquidity: int
    fee: int
    tick_spacing: int
    bitmap: dict[int, int] = field(default_factory=Bitmap)  # word -> 256 bits
    liquidity_net: dict[int, int] = field(default_factory=dict)  # initialized tick -> net
    liquidity_gross: dict[int, int] = field(default_factory=dict)  # initialized tick -> gross
    # Mint and Burn logs applied: tick words read at an earlier block may be out of date
    positions_changed: int = field(default=0, compare=False)

    def agrees_with(self, other: V3Pool) -> bool:
        """The same swap state, and the same ticks in every word this pool holds (`other`
        may hold more words)."""
        if (self.sqrt_price_x96, self.tick, self.liquidity, self.fee, self.tick_spacing) != (
            other.sqrt_price_x96,
            other.tick,
            other.liquidity,
            other.fee,
            other.tick_spacing,
        ):
            return False
        if any(other.bitmap.get(w) != bits for w, bits in self.bitmap.items()):
            return False

        def held(ticks: dict[int, int]) -> dict[int, int]:
            return {t: v for t, v in ticks.items() if (t // self.tick_spacing) >> 8 in self.bitmap}

        return (self.liquidity_net, self.liquidity_gross) == (
            held(other.liquidity_net),
            held(other.liquidity_gross),
        )


def swap_exact_input(pool: V3Pool, zero_for_one: bool, amount_in: int) -> tuple[int, int]:
    """(amount in used, amount out) of UniswapV3Pool.swap with no price limit, as QuoterV2's
    quoteExactInputSingle reports it: when liquidity runs out the swap stops at the price
    bound and only part of the input is used. Raises WordNotLoaded rather than guess."""
    if amount_in <= 0:
        raise MathError("AS")
    limit = _price_limit(pool.sqrt_price_x96, zero_for_one)
    remaining, out = amount_in, 0
    sqrt_price, tick, liquidity = pool.sqrt_price_x96, pool.tick, pool.liquidity
    # As UniswapV3Pool.swap, while input is left and the price is short of the bound:
    # 1. the next initialized tick in the direction of the swap (or a word's edge);
    # 2. a step towards its price, stopped at the bound (SwapMath.computeSwapStep);
    # 3. the step's input and fee spent, its output added;
    # 4. the tick reached is crossed (liquidity moves by its net), or, inside a range, the
    #    tick is recomputed from the price where the input ran out.
    while remaining and sqrt_price != limit:
        start = sqrt_price
        tick_next, initialized = _next_tick(pool, tick, liquidity, zero_for_one)
        sqrt_at_next = get_sqrt_ratio_at_tick(tick_next)
        beyond = sqrt_at_next < limit if zero_for_one else sqrt_at_next > limit
        sqrt_price, step_in, step_out, fee = compute_swap_step(
            sqrt_price, limit if beyond else sqrt_at_next, liquidity, remaining, pool.fee
        )
        remaining -= step_in + fee
        out += step_out
        if sqrt_price == sqrt_at_next:
            if initialized:
                net = pool.liquidity_net[tick_next]
                liquidity = add_delta(liquidity, -net if zero_for_one else net)
            tick = tick_next - 1 if zero_for_one else tick_next
        elif sqrt_price != start:
            tick = get_tick_at_sqrt_ratio(sqrt_price)
    if remaining == amount_in and out == 0:
        # the pool would call back with nothing owed either way, which QuoterV2 refuses
        raise MathError("swaps entirely within 0-liquidity regions are not supported")
    return amount_in - remaining, out


def _price_limit(sqrt_price: int, zero_for_one: bool) -> int:
    """The bound QuoterV2 passes when given no limit; the swap reverts if already there."""
    limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
    if (sqrt_price <= limit) if zero_for_one else (sqrt_price >= limit):
        raise MathError("SPL")
    return limit


def _next_tick(pool: V3Pool, tick: int, liquidity: int, zero_for_one: bool) -> tuple[int, bool]:
    """The next initialized tick from `tick`, or the edge of its word, kept within the tick
    bounds. With no liquidity a step only moves the price, so it goes straight on to the next
    initialized tick (or the bound) rather than one bitmap word per step, and over a span of
    words known to be empty in one go: the same result."""
    spacing = pool.tick_spacing
    tick_next, initialized = next_initialized_tick_within_one_word(
        pool.bitmap, tick, spacing, zero_for_one
    )
    while liquidity == 0 and not initialized and MIN_TICK < tick_next < MAX_TICK:
        beyond = tick_next - 1 if zero_for_one else tick_next
        tick = past_empty_words(pool.bitmap, beyond, spacing, zero_for_one)
        tick_next, initialized = next_initialized_tick_within_one_word(
            pool.bitmap, tick, spacing, zero_for_one
        )
    return min(max(tick_next, MIN_TICK), MAX_TICK), initialized
