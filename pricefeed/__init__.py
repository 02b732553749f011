"""pricefeed: exact DEX quotes, served from a tiered cache."""

import sys

# py_ecc (imported by web3) raises the recursion limit to 100,000 when first imported. C code
# that honours the limit, such as msgspec's JSON decoder, would then run off the C stack long
# before a RecursionError: one deeply nested request body killed the process with SIGSEGV.
# Import it first, once, and put the limit back.
_RECURSION_LIMIT = sys.getrecursionlimit()
import py_ecc  # noqa: E402, F401

sys.setrecursionlimit(_RECURSION_LIMIT)
