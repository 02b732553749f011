"""pricefeed: exact DEX quotes, served from a tiered cache."""

import sys

# py_ecc (imported by web3) raises the recursion limit to 100,000 when first imported. C code
# that honours the limit, such as msgspec's JSON decoder, would then run off the C stack long
# before a RecursionError: one deeply nested request body killed the process with SIGSEGV.
# Import it here, once, and bring the limit back down (whichever was imported first).
SANE_RECURSION_LIMIT = 2000
import py_ecc  # noqa: E402, F401

sys.setrecursionlimit(min(sys.getrecursionlimit(), SANE_RECURSION_LIMIT))
