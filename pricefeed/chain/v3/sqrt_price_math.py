"""SqrtPriceMath: the price an amount moves to, and the amounts between two prices."""

from __future__ import annotations

from pricefeed.chain.v3 import MathError
from pricefeed.chain.v3.full_math import (
    MAX_UINT256,
    div_rounding_up,
    mul_div,
    mul_div_rounding_up,
)

Q96 = 1 << 96  # FixedPoint96.Q96
MAX_UINT160 = (1 << 160) - 1


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
    return _to_uint160(mul_div_rounding_up(numerator1, sqrt_price, numerator1 - product))


def get_next_sqrt_price_from_amount1_rounding_down(
    sqrt_price: int, liquidity: int, amount: int, add: bool
) -> int:
    # Solidity shifts when amount fits 160 bits and uses mulDiv otherwise: the same quotient
    if add:
        return _to_uint160(sqrt_price + mul_div(amount, Q96, liquidity))
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


def _to_uint160(value: int) -> int:
    """SafeCast.toUint160: reverts where the cast would drop bits."""
    if value > MAX_UINT160:
        raise MathError("price out of uint160")
    return value
