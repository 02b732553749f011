"""SwapMath: one step of a swap within one tick range (exact input only: the feed quotes
amounts in)."""

from __future__ import annotations

from pricefeed.chain.v3.full_math import mul_div, mul_div_rounding_up
from pricefeed.chain.v3.sqrt_price_math import (
    get_amount0_delta,
    get_amount1_delta,
    get_next_sqrt_price_from_input,
)

FEE_DENOMINATOR = 1_000_000  # fees are in hundredths of a basis point


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
