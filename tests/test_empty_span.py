"""Crossing a span of words known to be empty in one jump gives what walking its words gives
(the walk is what tests/test_v3_math.py holds equal to QuoterV2): same amounts, same errors,
for prices between positions, with no liquidity at the price."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pricefeed.chain.v3 import MathError
from pricefeed.chain.v3.pool import V3Pool, swap_exact_input
from pricefeed.chain.v3.tick_bitmap import Bitmap
from pricefeed.chain.v3.tick_math import MAX_TICK, get_sqrt_ratio_at_tick


@st.composite
def pools_between_positions(draw):
    """A pool whose price sits outside every position, with positions some words away."""
    spacing = draw(st.sampled_from([1, 10, 60, 200]))
    word_ticks = 256 * spacing
    here = draw(st.integers(-5, 4)) * word_ticks + draw(st.integers(0, word_ticks - 1))
    net: dict[int, int] = {}
    gross: dict[int, int] = {}
    for _ in range(draw(st.integers(1, 4))):
        side = draw(st.sampled_from([-1, 1]))
        start = here + side * draw(st.integers(1, 6 * word_ticks))
        width = draw(st.integers(1, 3 * word_ticks))
        lower, upper = sorted((start, start + side * width))
        lower, upper = lower // spacing * spacing, -(-upper // spacing) * spacing
        top = MAX_TICK // spacing * spacing
        if lower <= here < upper or lower == upper or lower < -top or upper > top:
            continue
        liquidity = draw(st.integers(10**15, 10**22))
        for tick, delta in ((lower, liquidity), (upper, -liquidity)):
            net[tick] = net.get(tick, 0) + delta
            gross[tick] = gross.get(tick, 0) + liquidity
    words = {(t // spacing) >> 8 for t in gross}
    center = (here // spacing) >> 8
    low, high = min(words | {center}) - 2, max(words | {center}) + 2
    bits: dict[int, int] = {}
    for tick in gross:
        word, bit = (tick // spacing) >> 8, (tick // spacing) % 256
        bits[word] = bits.get(word, 0) | 1 << bit
    sqrt = get_sqrt_ratio_at_tick(here)
    walked = {w: bits.get(w, 0) for w in range(low, high + 1)}
    spanned = Bitmap({w: b for w, b in bits.items() if b}, zero=range(low, high + 1))
    return [
        V3Pool(
            sqrt,
            here,
            0,
            3000,
            spacing,
            bitmap=b,
            liquidity_net=dict(net),
            liquidity_gross=dict(gross),
        )
        for b in (walked, spanned)
    ]


def outcome(pool: V3Pool, zero_for_one: bool, amount: int):
    try:
        return swap_exact_input(pool, zero_for_one, amount)
    except (MathError, LookupError) as e:
        return type(e).__name__, getattr(e, "word", None)


@settings(max_examples=300, deadline=None)
@given(pools=pools_between_positions(), zero_for_one=st.booleans(), amount=st.integers(1, 10**24))
def test_a_jump_over_empty_words_equals_walking_them(pools, zero_for_one, amount):
    walked, spanned = pools
    assert outcome(spanned, zero_for_one, amount) == outcome(walked, zero_for_one, amount)
