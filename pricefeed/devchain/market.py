"""Random swaps on every new block, so devchain prices move like a market's."""

from __future__ import annotations

import logging
import random
import threading
from fractions import Fraction

from web3 import Web3

from pricefeed.devchain.build import uniswap_artifact
from pricefeed.devchain.deploy import DEADLINE, TOKENS, Deployment, fund

log = logging.getLogger(__name__)
PRICES = {t.symbol: t.usd for t in TOKENS}


class Market:
    def __init__(self, deployment: Deployment, swaps_per_block: int = 3, seed: int | None = None):
        self.d = deployment
        self.swaps_per_block = swaps_per_block
        self.rng = random.Random(seed)
        self.w3 = Web3(Web3.HTTPProvider(deployment.url))
        self.trader = self.w3.eth.accounts[1]
        self.v2 = self.w3.eth.contract(
            self.d.v2_router, abi=uniswap_artifact("UniswapV2Router02").abi
        )
        self.v3 = self.w3.eth.contract(self.d.swap_router, abi=uniswap_artifact("SwapRouter").abi)
        self.swaps = 0

    def run(self, stop: threading.Event, poll: float = 0.25) -> None:
        """Until `stop` is set: after each new block, send a few random swaps."""
        fund(self.w3, self.d, self.trader)
        last = self.w3.eth.block_number
        while not stop.wait(poll):
            head = self.w3.eth.block_number
            if head != last:
                last = head
                for _ in range(self.swaps_per_block):
                    self.swap()

    def swap(self) -> None:
        spec, _ = self.rng.choice([p for p in self.d.pools if p[0].depth_usd])
        token_in, token_out = (spec.a, spec.b) if self.rng.random() < 0.5 else (spec.b, spec.a)
        usd = Fraction(spec.depth_usd * self.rng.randint(5, 50), 10_000)  # 0.05%..0.5% of depth
        amount = int(usd / PRICES[token_in] * 10 ** self.d.decimals[token_in])
        t_in, t_out = self.d.tokens[token_in], self.d.tokens[token_out]
        tx = {"from": self.trader}
        try:
            if spec.dex == "v2":
                self.v2.functions.swapExactTokensForTokens(
                    amount, 0, [t_in, t_out], self.trader, DEADLINE
                ).transact(tx)
            else:
                params = (t_in, t_out, spec.fee, self.trader, DEADLINE, amount, 0, 0)
                self.v3.functions.exactInputSingle(params).transact(tx)
            self.swaps += 1
        except Exception as e:  # a swap that would revert is skipped; the market goes on
            log.debug("market swap %s->%s skipped: %s", token_in, token_out, e)
