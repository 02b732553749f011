"""FullMath's 512-bit mulDiv, and UnsafeMath's divRoundingUp."""

from __future__ import annotations

from pricefeed.chain.v3 import MathError

MAX_UINT256 = (1 << 256) - 1

# FullMath: the product is exact in Python; only the result must still fit 256 bits


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


# UnsafeMath


def div_rounding_up(x: int, y: int) -> int:
    """ceil(x / y)."""
    return -(-x // y)
