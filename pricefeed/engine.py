"""Quotes by the names users give: chain, token symbols or addresses, decimal amounts."""

from __future__ import annotations

import time
from collections.abc import Callable

from pricefeed.amounts import parse_amount
from pricefeed.chains import Chain, Chains, Token
from pricefeed.config import Settings
from pricefeed.errors import PricefeedError, UnknownToken
from pricefeed.quoter import Quote, Quoter, QuoteRequest
from pricefeed.rpc import RpcPool
from pricefeed.tokens import fetch_token


class QuoteEngine:
    """A quoter and an RPC pool per chain, made on first use."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time):
        self.chains = Chains(settings)
        self.clock = clock  # stamps quotes; tests move it
        self._quoters: dict[str, Quoter] = {}

    def quoter(self, chain: Chain) -> Quoter:
        if chain.name not in self._quoters:
            s = chain.settings
            rpc = RpcPool(chain.name, s.rpc_urls, s.rpc, head_ttl=s.block_time)
            self._quoters[chain.name] = Quoter(chain, rpc, lambda: self.clock())
        return self._quoters[chain.name]

    def quoters(self) -> dict[str, Quoter]:
        """The chains in use so far, by name."""
        return dict(self._quoters)

    async def request(
        self, chain_ref: str, token_in: str, token_out: str, amount: str = "1"
    ) -> tuple[Chain, QuoteRequest]:
        """Resolve and validate names; raises a PricefeedError naming what is wrong."""
        chain = self.chains.get(chain_ref)
        t_in, t_out = await self.token(chain, token_in), await self.token(chain, token_out)
        if t_in.address == t_out.address:
            raise PricefeedError(f"tokenIn and tokenOut are both {t_in.symbol}")
        return chain, QuoteRequest(t_in, t_out, parse_amount(amount, t_in.decimals))

    async def request_raw(
        self, chain_name: str, token_in: str, token_out: str, amount: int
    ) -> tuple[Chain, QuoteRequest]:
        """The same, for keys the service already holds: addresses and a raw amount."""
        chain = self.chains.get(chain_name)
        tokens = await self.token(chain, token_in), await self.token(chain, token_out)
        return chain, QuoteRequest(*tokens, amount)

    async def token(self, chain: Chain, ref: str) -> Token:
        """A configured token, or any ERC-20 by address, read from the chain once."""
        try:
            return chain.token(ref)
        except UnknownToken:
            if not ref.strip().lower().startswith("0x"):
                raise
        token = await fetch_token(ref.strip(), chain.name, self.quoter(chain).call_latest)
        chain.remember(token)
        return token

    async def quote(
        self, chain_ref: str, token_in: str, token_out: str, amount: str = "1"
    ) -> Quote:
        chain, request = await self.request(chain_ref, token_in, token_out, amount)
        return await self.quoter(chain).quote(request)

    async def close(self) -> None:
        for quoter in self._quoters.values():
            await quoter.rpc.close()
