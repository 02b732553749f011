"""Amounts are exact: decimal strings and raw integers convert both ways without loss."""

from __future__ import annotations

from decimal import Decimal, localcontext

from hypothesis import given
from hypothesis import strategies as st

from pricefeed.amounts import MAX_RAW, format_price, format_units, parse_amount


@given(raw=st.integers(1, MAX_RAW), decimals=st.integers(0, 36))
def test_formatting_then_parsing_gives_back_the_raw_amount(raw, decimals):
    text = format_units(raw, decimals)
    assert parse_amount(text, decimals) == raw
    with localcontext(prec=100):
        assert Decimal(text) * 10**decimals == raw
    assert "e" not in text.lower() and not text.endswith(".")


def test_trailing_zeros_beyond_the_decimals_are_still_exact():
    assert parse_amount("1.500000000", 6) == 1_500_000
    assert parse_amount(" 2 ", 8) == 200_000_000
    assert format_units(1, 18) == "0.000000000000000001"
    assert format_units(10**18, 18) == "1"


def test_the_price_is_per_whole_token_and_rounds_down():
    # 1.5 WETH (18 decimals) -> 4499.879106 USDC (6 decimals)
    assert format_price(4_499_879_106, 6, 15 * 10**17, 18) == "2999.919404"
    # 1 USDC -> 1/3000 WETH: 18 significant digits, rounded down
    assert format_price(333_333_333_333_333, 18, 10**6, 6) == "0.000333333333333333"
    assert format_price(2, 0, 3, 0) == "0.666666666666666666"
