"""Exact conversions between decimal strings and raw integer token units. No floats."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, localcontext

from pricefeed.errors import BadAmount

# Beyond any real token supply, and safely inside uint256 arithmetic on every venue.
MAX_RAW = 2**128 - 1
PRICE_DIGITS = 18
# The longest exact amount is 39 digits, a point and 77 decimals; leave room for trailing zeros.
# Bounding the text first also keeps int() clear of Python's 4300-digit conversion limit.
MAX_AMOUNT_CHARS = 160

_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?")  # ASCII digits only: \d takes "³"


def parse_amount(text: str, decimals: int) -> int:
    """'1.5' of an 18-decimal token -> 1500000000000000000; rejects anything inexact."""
    text = text.strip()
    if len(text) > MAX_AMOUNT_CHARS:
        raise BadAmount(f"amount is too long: at most {MAX_AMOUNT_CHARS} characters")
    if text.startswith("-"):
        raise BadAmount(f"amount must be greater than zero, got {text!r}")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise BadAmount(f"amount {text!r} is not a plain decimal number like 1 or 0.25")
    whole, frac = match.group(1), match.group(2) or ""
    if len(frac.rstrip("0")) > decimals:
        raise BadAmount(f"amount {text!r} has more than the token's {decimals} decimal places")
    raw = int(whole) * 10**decimals + int(frac.rstrip("0").ljust(decimals, "0") or "0")
    if raw == 0:
        raise BadAmount("amount must be greater than zero")
    if raw > MAX_RAW:
        raise BadAmount(f"amount {text!r} is too large (at most {format_units(MAX_RAW, decimals)})")
    return raw


def format_units(raw: int, decimals: int) -> str:
    """1500000 with 6 decimals -> '1.5'; exact, without trailing zeros."""
    sign = "-" if raw < 0 else ""
    whole, frac = divmod(abs(raw), 10**decimals)
    digits = str(frac).rjust(decimals, "0").rstrip("0") if decimals else ""
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def format_price(amount_out: int, out_decimals: int, amount_in: int, in_decimals: int) -> str:
    """tokenOut per tokenIn in whole units, to PRICE_DIGITS significant digits, rounded down."""
    with localcontext() as ctx:
        ctx.prec = PRICE_DIGITS
        ctx.rounding = ROUND_DOWN
        price = Decimal(amount_out * 10**in_decimals) / Decimal(amount_in * 10**out_decimals)
    text = f"{price:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
