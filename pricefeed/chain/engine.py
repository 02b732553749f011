"""Quotes by the names users give: chain, token symbols or addresses, decimal amounts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from cachetools import TTLCache

from pricefeed.amounts import parse_amount
from pricefeed.chain.chains import Chain, Chains
from pricefeed.chain.follower import Follower
from pricefeed.chain.quoter import Quoter
from pricefeed.chain.rpc import RpcPool
from pricefeed.chain.shadow import Shadow
from pricefeed.chain.state import ChainState, Restored
from pricefeed.chain.tokens import fetch_tokens
from pricefeed.config import Settings
from pricefeed.errors import LookupLimit, PricefeedError, UnknownToken, UpstreamUnavailable
from pricefeed.model import Quote, QuoteRequest, Token

log = logging.getLogger(__name__)


class LookupBudget(Protocol):
    """How many unknown token addresses a caller may have read (the serving layer's quotas):
    `take` raises LookupLimit when none are left."""

    async def take(self) -> None: ...


class QuoteEngine:
    """A quoter and an RPC pool per chain, made on first use."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.chains = Chains(settings)
        self.clock = clock  # stamps quotes; tests move it
        self._quoters: dict[str, Quoter] = {}
        self._states: dict[str, ChainState] = {}
        self._followers: dict[str, Follower] = {}
        # addresses found not to be ERC-20s: asking again costs no RPC (bounded, and forgotten
        # after a while, in case a contract is deployed there)
        self._not_tokens: TTLCache[tuple[str, str], str] = TTLCache(
            settings.cache.not_token_size * max(1, len(self.chains.all)),
            settings.cache.not_token_ttl,
        )

    def quoter(self, chain: Chain) -> Quoter:
        if chain.name not in self._quoters:
            s = chain.settings
            rpc = RpcPool(chain.name, s.rpc_urls, s.rpc, head_ttl=s.block_time)
            self._quoters[chain.name] = Quoter(
                chain, rpc, lambda: self.clock(), self.settings.cache.pool_pairs
            )
        return self._quoters[chain.name]

    def quoters(self) -> dict[str, Quoter]:
        """The chains in use so far, by name."""
        return dict(self._quoters)

    def state(self, chain: Chain) -> ChainState:
        """The chain's held pool state, with a shadow check of what is priced from it."""
        if chain.name not in self._states:
            s = self.settings.state
            state = ChainState(self.quoter(chain), lambda: self.clock(), s.max_pools)
            state.shadow = Shadow(
                state.quoter, state.states.pools, s.shadow_rate, s.shadow_per_second
            )
            state.on_quotes = state.shadow.consider
            follower = Follower(
                state,
                s.check_interval,
                s.check_sample,
                reread_interval=s.reread_interval,
                logs_retry=s.logs_retry,
            )
            state.catch_up = follower.step
            self._states[chain.name] = state
            self._followers[chain.name] = follower
        return self._states[chain.name]

    def held(self, chain_name: str) -> ChainState | None:
        """The chain's state if it is in use, without making one (the hot path's look-up)."""
        return self._states.get(chain_name)

    def states(self) -> dict[str, ChainState]:
        return dict(self._states)

    def followers(self) -> dict[str, Follower]:
        """The follower of each chain in use (run by `Followers` in the service)."""
        return dict(self._followers)

    async def warm(self) -> None:
        """Load the configured tokens' pools on every chain, side by side (see
        `ChainState.warm`); a chain out of reach is logged and left to load on demand."""

        async def one(chain: Chain) -> None:
            try:
                held = await self.state(chain).warm()
                log.info("%s: %d pools of configured pairs held", chain.name, held)
            except PricefeedError as e:
                log.warning("%s: configured pairs not loaded at start: %s", chain.name, e.message)

        await asyncio.gather(*(one(c) for c in self.chains.all))

    def behind(self, chain_name: str) -> bool:
        """Whether the chain's state was restored and the follower has not caught up yet."""
        state = self._states.get(chain_name)
        return state is not None and not state.caught_up

    async def restore(self, saved: dict[str, Restored]) -> None:
        """Take back the pool state persisted by an earlier run, for chains still configured."""
        for name, (head, confirmed_at, pools) in saved.items():
            try:
                chain = self.chains.get(name)
            except PricefeedError:
                log.info("saved pool state of %s ignored: the chain is not configured", name)
                continue
            self.state(chain).restore(head, confirmed_at, pools)
            log.info("%s: %d pools restored at block %d", name, len(pools), head.number)

    async def request(
        self,
        chain_ref: str,
        token_in: str,
        token_out: str,
        amount: str = "1",
        lookups: LookupBudget | None = None,
    ) -> tuple[Chain, QuoteRequest]:
        """Resolve and validate names; raises a PricefeedError naming what is wrong."""
        chain = self.chains.get(chain_ref)
        t_in = await self.token(chain, token_in, lookups)
        t_out = await self.token(chain, token_out, lookups)
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

    async def token(self, chain: Chain, ref: str, lookups: LookupBudget | None = None) -> Token:
        """A configured token, or any ERC-20 by address, read from the chain once; `lookups`
        bounds how many unknown addresses the caller may have read."""
        try:
            return chain.token(ref)
        except UnknownToken:
            if not ref.strip().lower().startswith("0x"):
                raise
        await self.learn_tokens(chain, [ref], lookups)
        if (known := self._not_tokens.get((chain.name, ref.strip().lower()))) is not None:
            raise UnknownToken(known)
        try:
            return chain.token(ref)
        except UnknownToken:
            if lookups is not None:
                await lookups.take()  # not learned: the budget ran out, and this says so
            raise

    async def learn_batch_tokens(
        self, items: list[tuple[str, str, str, str]], lookups: LookupBudget | None
    ) -> dict[str, UpstreamUnavailable]:
        """Read a batch's unknown token addresses together, one batch of calls per chain;
        returns the chains (as the items name them) whose endpoints could not answer."""
        refs: dict[str, list[str]] = {}
        for chain, token_in, token_out, _ in items:
            refs.setdefault(str(chain).strip().lower(), []).extend((token_in, token_out))
        unreachable = {}
        for name, tokens in refs.items():
            try:
                await self.learn_tokens(self.chains.get(name), tokens, lookups)
            except UpstreamUnavailable as e:
                unreachable[name] = e
            except PricefeedError:  # an unknown chain: its items say so one by one
                continue
        return unreachable

    async def learn_tokens(
        self, chain: Chain, refs: list[str], lookups: LookupBudget | None = None
    ) -> None:
        """Read every unknown address among `refs` from the chain in one batch of calls, as
        many as `lookups` allows; the rest are left for `token` to refuse."""
        wanted: dict[str, str] = {}
        for ref in refs:
            address = ref.strip()
            key = address.lower()
            if key in wanted or (chain.name, key) in self._not_tokens or not _unknown(chain, ref):
                continue
            if lookups is not None:
                try:
                    await lookups.take()
                except LookupLimit:
                    break
            wanted[key] = address
        if not wanted:
            return
        learned = await fetch_tokens(list(wanted.values()), chain.name, self._calls(chain))
        for key, found in zip(wanted, learned, strict=True):
            if isinstance(found, UnknownToken):
                self._not_tokens[(chain.name, key)] = found.message
            else:
                chain.remember(found)

    def _calls(self, chain: Chain):
        return self.quoter(chain).call_latest

    async def quote(
        self,
        chain_ref: str,
        token_in: str,
        token_out: str,
        amount: str = "1",
        from_state: bool = False,
    ) -> Quote:
        """The best route's quote: from the on-chain quoters, or (`from_state`) computed from
        pool state, which also finds routes they cannot ask in one call (V2 then V3)."""
        chain, request = await self.request(chain_ref, token_in, token_out, amount)
        if not from_state:
            return await self.quoter(chain).quote(request)
        (result,) = await self.state(chain).quote_many([request])
        if isinstance(result, PricefeedError):
            raise result
        return result

    async def close(self) -> None:
        for state in self._states.values():
            await state.shadow.close()
        for quoter in self._quoters.values():
            await quoter.rpc.close()


def _unknown(chain: Chain, ref: str) -> bool:
    """A well-formed address that no config, token list or earlier look-up names."""
    try:
        chain.token(ref)
    except UnknownToken:
        return ref.strip().lower().startswith("0x")
    except PricefeedError:  # malformed: refused when the request is resolved
        return False
    return False
