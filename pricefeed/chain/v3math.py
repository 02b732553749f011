"""Uniswap V3's swap arithmetic in Python integers, equal to the contracts to the wei.

One section per v3-core library (FullMath, TickMath, SqrtPriceMath, SwapMath, BitMath and
TickBitmap, LiquidityMath), with the Solidity function names in snake_case, so each can be read
beside its source. Python's integers never overflow: where Solidity's 256-bit wrap-around or a
`require` decides the result, the comment says so and the code checks it explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

Q96 = 1 << 96
MAX_UINT160 = (1 << 160) - 1
MAX_UINT256 = (1 << 256) - 1
FEE_DENOMINATOR = 1_000_000  # fees are in hundredths of a basis point


class MathError(ArithmeticError):
    """Where the contract would revert."""


# FullMath


def mul_div(a: int, b: int, denominator: int) -> int:
    """floor(a * b / denominator); reverts when the result does not fit 256 bits."""
    result = a * b // denominator
    if result > MAX_UINT256:
        raise MathError("mulDiv overflow")
    return result


def mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    result = -(-a * b // denominator)
    if result > MAX_UINT256:
        raise MathError("mulDivRoundingUp overflow")
    return result


def div_rounding_up(x: int, y: int) -> int:
    """UnsafeMath.divRoundingUp: ceil(x / y)."""
    return -(-x // y)


# TickMath

MIN_TICK, MAX_TICK = -887272, 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
# 2^128 / sqrt(1.0001)^(2^i) as Q128 numbers, for bit i of |tick| (TickMath's constants)
_TICK_FACTORS = [
    0xFFF97272373D413259A46990580E213A,
    0xFFF2E50F5F656932EF12357CF3C7FDCC,
    0xFFE5CACA7E10E4E61C3624EAA0941CD0,
    0xFFCB9843D60F6159C9DB58835C926644,
    0xFF973B41FA98C081472E6896DFB254C0,
    0xFF2EA16466C96A3843EC78B326B52861,
    0xFE5DEE046A99A2A811C461F1969C3053,
    0xFCBE86C7900A88AEDCFFC83B479AA3A4,
    0xF987A7253AC413176F2B074CF7815E54,
    0xF3392B0822B70005940C7A398E4B70F3,
    0xE7159475A2C29B7443B29C7FA6E889D9,
    0xD097F3BDFD2022B8845AD8F792AA5825,
    0xA9F746462D870FDF8A65DC1F90E061E5,
    0x70D869A156D2A1B890BB3DF62BAF32F7,
    0x31BE135F97D08FD981231505542FCFA6,
    0x9AA508B5B7A84E1C677DE54F3E99BC9,
    0x5D6AF8DEDB81196699C329225EE604,
    0x2216E584F5FA1EA926041BEDFE98,
    0x48A170391F7DC42444E8FA2,
]


@lru_cache(maxsize=1 << 16)  # pure, and most of a swap's time: ticks repeat across quotes
def get_sqrt_ratio_at_tick(tick: int) -> int:
    """sqrt(1.0001^tick) * 2^96, rounded up, exactly as TickMath computes it."""
    abs_tick = abs(tick)
    if abs_tick > MAX_TICK:
        raise MathError("T")
    ratio = 0xFFFCB933BD6FAD37AA2D162D1A594001 if abs_tick & 1 else 1 << 128
    for bit, factor in enumerate(_TICK_FACTORS, start=1):
        if abs_tick & (1 << bit):
            ratio = (ratio * factor) >> 128
    if tick > 0:
        ratio = MAX_UINT256 // ratio
    # Q128.128 to Q64.96, rounding up so that get_tick_at_sqrt_ratio inverts it
    return (ratio >> 32) + (1 if ratio % (1 << 32) else 0)


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """The greatest tick whose ratio is <= sqrt_price_x96 (TickMath's contract, found here by
    bisection over get_sqrt_ratio_at_tick instead of its log2 approximation)."""
    if not MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO:
        raise MathError("R")
    low, high = MIN_TICK, MAX_TICK
    while low < high:
        middle = (low + high + 1) // 2
        if get_sqrt_ratio_at_tick(middle) <= sqrt_price_x96:
            low = middle
        else:
            high = middle - 1
    return low


# SqrtPriceMath


def get_next_sqrt_price_from_amount0_rounding_up(
    sqrt_price: int, liquidity: int, amount: int, add: bool
) -> int:
    if amount == 0:
        return sqrt_price
    numerator1 = liquidity << 96
    product = amount * sqrt_price
    if add:
        # the precise path, unless amount * price or the denominator overflows 256 bits
        if product <= MAX_UINT256 and numerator1 + product <= MAX_UINT256:
            return mul_div_rounding_up(numerator1, sqrt_price, numerator1 + product)
        return div_rounding_up(numerator1, numerator1 // sqrt_price + amount)
    if product > MAX_UINT256 or numerator1 <= product:
        raise MathError("no liquidity for that output")
    return _uint160(mul_div_rounding_up(numerator1, sqrt_price, numerator1 - product))


def get_next_sqrt_price_from_amount1_rounding_down(
    sqrt_price: int, liquidity: int, amount: int, add: bool
) -> int:
    # Solidity shifts when amount fits 160 bits and uses mulDiv otherwise: the same quotient
    if add:
        return _uint160(sqrt_price + mul_div(amount, Q96, liquidity))
    quotient = mul_div_rounding_up(amount, Q96, liquidity)
    if sqrt_price <= quotient:
        raise MathError("no liquidity for that output")
    return sqrt_price - quotient


def get_next_sqrt_price_from_input(
    sqrt_price: int, liquidity: int, amount_in: int, zero_for_one: bool
) -> int:
    """Rounds so that the price never passes the one the input pays for."""
    if zero_for_one:
        return get_next_sqrt_price_from_amount0_rounding_up(sqrt_price, liquidity, amount_in, True)
    return get_next_sqrt_price_from_amount1_rounding_down(sqrt_price, liquidity, amount_in, True)


def get_amount0_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    sqrt_a, sqrt_b = min(sqrt_a, sqrt_b), max(sqrt_a, sqrt_b)
    numerator1, numerator2 = liquidity << 96, sqrt_b - sqrt_a
    if round_up:
        return div_rounding_up(mul_div_rounding_up(numerator1, numerator2, sqrt_b), sqrt_a)
    return mul_div(numerator1, numerator2, sqrt_b) // sqrt_a


def get_amount1_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    sqrt_a, sqrt_b = min(sqrt_a, sqrt_b), max(sqrt_a, sqrt_b)
    if round_up:
        return mul_div_rounding_up(liquidity, sqrt_b - sqrt_a, Q96)
    return mul_div(liquidity, sqrt_b - sqrt_a, Q96)


def _uint160(value: int) -> int:
    if value > MAX_UINT160:
        raise MathError("price out of uint160")
    return value


# SwapMath (exact input only: the feed quotes amounts in)


def compute_swap_step(
    sqrt_current: int, sqrt_target: int, liquidity: int, amount_remaining: int, fee_pips: int
) -> tuple[int, int, int, int]:
    """One step towards `sqrt_target`: (next sqrt price, amount in, amount out, fee)."""
    zero_for_one = sqrt_current >= sqrt_target
    less_fee = mul_div(amount_remaining, FEE_DENOMINATOR - fee_pips, FEE_DENOMINATOR)
    if zero_for_one:
        amount_in = get_amount0_delta(sqrt_target, sqrt_current, liquidity, True)
    else:
        amount_in = get_amount1_delta(sqrt_current, sqrt_target, liquidity, True)
    if less_fee >= amount_in:
        sqrt_next = sqrt_target
    else:
        sqrt_next = get_next_sqrt_price_from_input(sqrt_current, liquidity, less_fee, zero_for_one)
    reached = sqrt_next == sqrt_target
    if zero_for_one:
        if not reached:
            amount_in = get_amount0_delta(sqrt_next, sqrt_current, liquidity, True)
        amount_out = get_amount1_delta(sqrt_next, sqrt_current, liquidity, False)
    else:
        if not reached:
            amount_in = get_amount1_delta(sqrt_current, sqrt_next, liquidity, True)
        amount_out = get_amount0_delta(sqrt_current, sqrt_next, liquidity, False)
    if not reached:  # the input ran out inside the step: what is left of it is all fee
        fee = amount_remaining - amount_in
    else:
        fee = mul_div_rounding_up(amount_in, fee_pips, FEE_DENOMINATOR - fee_pips)
    return sqrt_next, amount_in, amount_out, fee


# BitMath and TickBitmap


def most_significant_bit(x: int) -> int:
    return x.bit_length() - 1


def least_significant_bit(x: int) -> int:
    return (x & -x).bit_length() - 1


class WordNotLoaded(LookupError):
    """The swap would read a tick bitmap word the state does not hold."""

    def __init__(self, word: int):
        super().__init__(f"tick bitmap word {word} is not loaded")
        self.word = word


def next_initialized_tick_within_one_word(
    bitmap: Mapping[int, int], tick: int, tick_spacing: int, lte: bool
) -> tuple[int, bool]:
    """The next initialized tick in the word of `tick` (left if `lte`), or that word's edge.
    Floor division and `>>` match Solidity's rounding of negative compressed ticks."""
    compressed = tick // tick_spacing
    if lte:
        word, bit = compressed >> 8, compressed % 256
        masked = _word(bitmap, word) & ((1 << bit) - 1 + (1 << bit))
        if masked:
            return (compressed - (bit - most_significant_bit(masked))) * tick_spacing, True
        return (compressed - bit) * tick_spacing, False
    word, bit = (compressed + 1) >> 8, (compressed + 1) % 256
    masked = _word(bitmap, word) & ~((1 << bit) - 1) & MAX_UINT256
    if masked:
        return (compressed + 1 + (least_significant_bit(masked) - bit)) * tick_spacing, True
    return (compressed + 1 + (255 - bit)) * tick_spacing, False


def _word(bitmap: Mapping[int, int], word: int) -> int:
    if word not in bitmap:
        raise WordNotLoaded(word)
    return bitmap[word]


def _past_empty_words(bitmap: Mapping[int, int], tick: int, spacing: int, lte: bool) -> int:
    """`tick`, or, when the words from its own on are a known-empty span, a tick in the last
    of them (its last tick going down, its first going up, so that the next search stays in
    that word): nothing is initialized in between."""
    zero = getattr(bitmap, "zero", None)
    word = (tick // spacing) >> 8
    if not zero or word not in zero or dict.get(bitmap, word):  # type: ignore[arg-type]
        return tick
    step = -1 if lte else 1
    edge = zero.start if lte else zero.stop - 1
    for stored, bits in bitmap.items():  # a few words: those with initialized ticks
        if bits and (stored - word) * step > 0 and (edge - stored) * step >= 0:
            edge = stored - step
    if edge == word:
        return tick
    return ((edge << 8) + 255) * spacing if lte else (edge << 8) * spacing


class Bitmap(dict):
    """Tick bitmap words held: those stored, and every word in `zero` (a span read and found
    empty, kept as a range rather than thousands of zeros) that is not stored."""

    def __init__(self, words=(), zero: range = range(0)):
        super().__init__(words)
        self.zero = zero

    def __contains__(self, word) -> bool:
        return dict.__contains__(self, word) or word in self.zero

    def __missing__(self, word: int) -> int:
        if word in self.zero:
            return 0
        raise KeyError(word)

    def get(self, word, default=None):
        return self[word] if word in self else default  # noqa: SIM401 (dict.get skips __missing__)


# LiquidityMath


def add_delta(liquidity: int, delta: int) -> int:
    result = liquidity + delta
    if not 0 <= result < 1 << 128:
        raise MathError("LS" if delta < 0 else "LA")
    return result


# The pool's swap loop


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
    limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
    if (pool.sqrt_price_x96 <= limit) if zero_for_one else (pool.sqrt_price_x96 >= limit):
        raise MathError("SPL")  # the price already sits at the bound
    remaining, out = amount_in, 0
    sqrt_price, tick, liquidity = pool.sqrt_price_x96, pool.tick, pool.liquidity
    while remaining and sqrt_price != limit:
        start = sqrt_price
        tick_next, initialized = next_initialized_tick_within_one_word(
            pool.bitmap, tick, pool.tick_spacing, zero_for_one
        )
        # With no liquidity a step only moves the price: go straight on to the next
        # initialized tick (or the bound) instead of one bitmap word per step, and over a span
        # of words known to be empty in one go. Same result.
        while liquidity == 0 and not initialized and MIN_TICK < tick_next < MAX_TICK:
            tick = _past_empty_words(
                pool.bitmap,
                tick_next - 1 if zero_for_one else tick_next,
                pool.tick_spacing,
                zero_for_one,
            )
            tick_next, initialized = next_initialized_tick_within_one_word(
                pool.bitmap, tick, pool.tick_spacing, zero_for_one
            )
        tick_next = min(max(tick_next, MIN_TICK), MAX_TICK)
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
