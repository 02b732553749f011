"""LiquidityMath: a liquidity delta added with the contract's overflow checks."""

from __future__ import annotations

from pricefeed.chain.v3 import MathError


def add_delta(liquidity: int, delta: int) -> int:
    result = liquidity + delta
    if not 0 <= result < 1 << 128:  # uint128 under- and overflow, as the `require`s revert
        raise MathError("LS" if delta < 0 else "LA")
    return result
