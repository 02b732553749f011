"""What one client may cost: requests (a batch counts its items), unknown-token look-ups, and
its share of each chain's RPC budget. Counted by the `limits` package, in memory on one box
(`server.quota_storage`; a Redis URL shares the counts between processes)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from cachetools import TTLCache
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from pricefeed.chain.chains import Chain
from pricefeed.config import ServerSettings
from pricefeed.errors import LookupLimit, OverQuota, RpcBudget
from pricefeed.model import QuoteRequest


class Quotas:
    def __init__(self, settings: ServerSettings):
        self.settings = settings
        url = settings.quota_storage
        self.limiter = MovingWindowRateLimiter(
            storage_from_string(url if url.startswith("async+") else f"async+{url}")
        )
        self.requests = RateLimitItemPerMinute(settings.rate_limit) if settings.rate_limit else None
        self.lookups = (
            RateLimitItemPerMinute(settings.token_lookups_per_minute)
            if settings.token_lookups_per_minute
            else None
        )
        self._rpc: dict[float, RateLimitItem] = {}

    async def charge_requests(self, client: str, cost: int) -> None:
        """Count `cost` quote requests; a batch over what is left is refused whole."""
        if self.requests is not None and not await self.limiter.hit(
            self.requests, "requests", client, cost=cost
        ):
            raise OverQuota(
                f"at most {self.settings.rate_limit} quotes a minute per client "
                f"(a batch counts each of its pairs)",
                await self._retry_after(self.requests, "requests", client),
            )

    async def charge_lookup(self, client: str) -> None:
        """Count one read of an unknown token's contract."""
        if self.lookups is not None and not await self.limiter.hit(self.lookups, "lookups", client):
            raise LookupLimit(
                f"at most {self.settings.token_lookups_per_minute} unknown token addresses a "
                "minute per client",
                await self._retry_after(self.lookups, "lookups", client),
            )

    async def charge_rpc(self, client: str, chain: str, rate_limit: float, cost: int = 1) -> bool:
        """Whether the client may cause `cost` more RPC work on this chain: its share of the
        chain's endpoint rate limit, counted over a minute."""
        item = self._rpc_item(rate_limit)
        return item is None or await self.limiter.hit(item, "rpc", chain, client, cost=cost)

    async def rpc_retry_after(self, client: str, chain: str, rate_limit: float) -> int:
        item = self._rpc_item(rate_limit)
        return 1 if item is None else await self._retry_after(item, "rpc", chain, client)

    def _rpc_item(self, rate_limit: float) -> RateLimitItem | None:
        share = self.settings.client_rpc_share
        if share >= 1:
            return None
        if rate_limit not in self._rpc:
            per_minute = max(1, math.floor(rate_limit * share * 60))
            self._rpc[rate_limit] = RateLimitItemPerMinute(per_minute)
        return self._rpc[rate_limit]

    async def _retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        reset_at, _ = await self.limiter.get_window_stats(item, *identifiers)
        return max(1, math.ceil(reset_at - time.time()))


class Lookups:
    """The unknown-token look-ups one API request may make: a few, and within the client's
    quota per minute."""

    def __init__(self, quotas: Quotas | None, client: str, per_request: int):
        self.quotas = quotas
        self.client = client
        self.left = per_request
        self.per_request = per_request

    async def take(self) -> None:
        if self.left <= 0:
            raise LookupLimit(
                f"at most {self.per_request} unknown token addresses per request; "
                "ask for the rest in another request",
                retry_after=1,
            )
        if self.quotas is not None:
            await self.quotas.charge_lookup(self.client)
        self.left -= 1


class FetchCharges:
    """Charges the fetches a client causes to its share of each chain's RPC budget: one charge
    per pair while its pools load, since the amounts asked meanwhile go in the same batch of
    look-ups and reads and cost the chain nothing more."""

    def __init__(self, quotas: Quotas, size: int, hold: float, clock: Callable[[], float]):
        self.quotas = quotas
        # (client, chain, tokenIn, tokenOut) whose load was charged, for `hold` seconds
        self.charged: TTLCache[tuple[str, str, str, str], bool] = TTLCache(
            size, hold, timer=lambda: clock()
        )

    async def allow(self, client: str, chain: Chain, request: QuoteRequest) -> bool:
        """Whether the client is within its share for one fetch of `request` on `chain`."""
        charged = (client, chain.name, request.token_in.address, request.token_out.address)
        if charged in self.charged:
            return True
        if not await self.quotas.charge_rpc(client, chain.name, chain.settings.rpc.rate_limit):
            return False
        self.charged[charged] = True
        return True

    async def refusal(self, client: str, chain: Chain) -> RpcBudget:
        """What a client past its share is told, with when to ask again."""
        return RpcBudget(
            f"this client has used its share of {chain.name}'s RPC budget; quotes it asks for "
            "that are not cached wait until the minute turns",
            await self.quotas.rpc_retry_after(client, chain.name, chain.settings.rpc.rate_limit),
        )
