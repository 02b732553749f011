"""Uniswap V3's swap arithmetic in Python integers, equal to the contracts to the wei.

One module per v3-core library (`full_math`, `tick_math`, `sqrt_price_math`, `swap_math`,
`tick_bitmap` with BitMath, `liquidity_math`) and the pool's swap loop (`pool`), with the
Solidity function names in snake_case, so each can be read beside its source. Python's integers
never overflow: where Solidity's 256-bit wrap-around or a `require` decides the result, the
comment says so and the code checks it explicitly.
"""


class MathError(ArithmeticError):
    """Where the contract would revert."""
