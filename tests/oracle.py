"""The oracle: Uniswap's own QuoterV2 and V2 router, asked with plain web3 calls one route at
a time at a given block. Tests compare our quotes with its best answer."""

from __future__ import annotations

from itertools import permutations

from hypothesis import strategies as st
from web3 import Web3
from web3.exceptions import ContractLogicError

from pricefeed.devchain.build import uniswap_artifact
from pricefeed.devchain.deploy import POOLS

FEES = (500, 3000, 10000)
HUBS = ("WETH", "USDC")
TRADED = sorted({s for p in POOLS for s in (p.a, p.b)})
PAIRS = [p for p in permutations(TRADED, 2) if set(p) != {"DAI", "UNI"}]  # DAI/UNI: no route


class Oracle:
    def __init__(self, devchain):
        w3 = Web3(Web3.HTTPProvider(devchain.url))
        self.d = devchain
        self.router = w3.eth.contract(
            devchain.v2_router, abi=uniswap_artifact("UniswapV2Router02").abi
        )
        self.quoter = w3.eth.contract(devchain.quoter, abi=uniswap_artifact("QuoterV2").abi)

    def best(self, a: str, b: str, amount: int, block, v2_then_v3: bool = False) -> int | None:
        """The most any route gives: direct, and through each hub on V2, on V3, V3 then V2,
        and (with `v2_then_v3`) V2 then V3."""
        t = self.d.tokens
        answers = [self._v2([t[a], t[b]], amount, block)]
        answers += [self._v3_single(t[a], t[b], fee, amount, block) for fee in FEES]
        for hub in HUBS:
            if hub in (a, b):
                continue
            h = t[hub]
            answers.append(self._v2([t[a], h, t[b]], amount, block))
            for f1 in FEES:
                mid = self._v3_single(t[a], h, f1, amount, block)
                answers.append(self._v2([h, t[b]], mid, block) if mid else None)
                answers += [self._v3_path([t[a], f1, h, f2, t[b]], amount, block) for f2 in FEES]
            if v2_then_v3:
                mid = self._v2([t[a], h], amount, block)
                answers += [self._v3_single(h, t[b], f, mid, block) if mid else None for f in FEES]
        found = [x for x in answers if x is not None]
        return max(found) if found else None

    def _v2(self, path, amount, block):
        return self._ask(self.router.functions.getAmountsOut(amount, path), block, lambda r: r[-1])

    def _v3_single(self, a, b, fee, amount, block):
        fn = self.quoter.functions.quoteExactInputSingle((a, b, amount, fee, 0))
        return self._ask(fn, block, lambda r: r[0])

    def _v3_path(self, parts, amount, block):
        path = b"".join(
            Web3.to_bytes(hexstr=p) if isinstance(p, str) else p.to_bytes(3, "big") for p in parts
        )
        return self._ask(self.quoter.functions.quoteExactInput(path, amount), block, lambda r: r[0])

    @staticmethod
    def _ask(fn, block, pick):
        try:
            return pick(fn.call(block_identifier=block))
        except (ContractLogicError, ValueError):
            return None


def raw_amounts(decimals: int):
    """From one raw unit up to far more than any pool holds, spread over the magnitudes."""
    return st.integers(0, decimals + 8).flatmap(lambda d: st.integers(10**d, 10 ** (d + 1)))
