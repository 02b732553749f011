"""Random swaps on every new block, so devchain prices move like a market's."""

from __future__ import annotations

import logging
import random
import threading
from fractions import Fraction

from web3 import Web3
from web3.logs import DISCARD

from pricefeed.devchain.build import uniswap_artifact
from pricefeed.devchain.deploy import (
    DEADLINE,
    TICK_SPACING,
    TOKENS,
    Deployment,
    fund,
    seed_amounts,
)

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
        self.npm = self.w3.eth.contract(
            self.d.position_manager, abi=uniswap_artifact("NonfungiblePositionManager").abi
        )
        self.swaps = 0
        self.positions: list[int] = []  # token ids of the positions this market minted

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
                if self.rng.random() < 0.2:  # liquidity comes and goes now and then
                    self.mint()
                if self.rng.random() < 0.1:
                    self.burn()

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

    def mint(self) -> None:
        """A position in a random V3 pool: around the price, or one-sided beyond it."""
        spec, address = self.rng.choice(
            [p for p in self.d.pools if p[0].dex == "v3" and p[0].depth_usd]
        )
        pool = self.w3.eth.contract(address, abi=uniswap_artifact("UniswapV3Pool").abi)
        tick, spacing = pool.functions.slot0().call()[1], TICK_SPACING[spec.fee]
        here = tick // spacing
        low, high = sorted(self.rng.sample(range(here - 600, here + 600), 2))
        t0, t1 = sorted((self.d.tokens[spec.a], self.d.tokens[spec.b]), key=lambda a: int(a, 16))
        amount0, amount1 = seed_amounts(self.d, spec)
        amount0, amount1 = (amount0, amount1) if t0 == self.d.tokens[spec.a] else (amount1, amount0)
        share = self.rng.randint(1, 20)  # up to 2% of the pool's seed, each side
        params = (
            t0,
            t1,
            spec.fee,
            low * spacing,
            high * spacing,
            amount0 * share // 1000,
            amount1 * share // 1000,
            0,
            0,
            self.trader,
            DEADLINE,
        )
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                self.npm.functions.mint(params).transact({"from": self.trader})
            )
            (event,) = self.npm.events.IncreaseLiquidity().process_receipt(receipt, errors=DISCARD)
            self.positions.append(event.args.tokenId)
        except Exception as e:
            log.debug("market mint skipped: %s", e)

    def burn(self) -> None:
        """Take out part or all of a position this market minted."""
        if not self.positions:
            return
        token_id = self.rng.choice(self.positions)
        liquidity = self.npm.functions.positions(token_id).call()[7]
        part = liquidity if self.rng.random() < 0.3 else liquidity * self.rng.randint(1, 9) // 10
        if part:
            params = (token_id, part, 0, 0, DEADLINE)
            self.npm.functions.decreaseLiquidity(params).transact({"from": self.trader})
