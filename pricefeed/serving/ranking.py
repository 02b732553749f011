"""Which tier each pair is in: ranked by popularity, pinned by operators, and the pools of the
tiers followed every block kept held."""

from __future__ import annotations

from collections.abc import Callable

from pricefeed.chain.engine import QuoteEngine
from pricefeed.config import CacheSettings
from pricefeed.errors import PricefeedError
from pricefeed.model import PairKey
from pricefeed.serving.demand import DemandTracker
from pricefeed.serving.tiers import LOWEST, Tier, assign, decayed
from pricefeed.store import Store


class Ranking:
    def __init__(
        self,
        engine: QuoteEngine,
        store: Store,
        demand: DemandTracker,
        settings: CacheSettings,
        clock: Callable[[], float],
    ):
        self.engine = engine
        self.store = store
        self.demand = demand
        self.settings = settings
        self.clock = clock
        self.tiers: dict[int, Tier] = {}
        self.pair_tiers: dict[PairKey, int] = {}

    async def load(self) -> None:
        """Tiers, and each pair's tier and popularity, as the store has them (a restart)."""
        self.tiers = await self.store.tiers()
        for row in await self.store.pairs():
            key = PairKey(row["chain"], row["token_in"], row["token_out"])
            self.pair_tiers[key] = row["tier"]
            self.demand.load(
                key, (row["symbol_in"], row["symbol_out"]), row["score"], row["score_at"]
            )

    def tier(self, pair: PairKey) -> Tier:
        return self.tiers[self.pair_tiers.get(pair, LOWEST)]

    async def retier(self) -> dict[int, int]:
        """Rank pairs by the popularity the store has (rising ones counted double) and move
        them between tiers; returns the moves (pair id -> tier)."""
        self.tiers = await self.store.tiers()
        now = self.clock()
        rising = set(self.demand.rising(now))
        rows = await self.store.pairs()
        ranked, by_id = [], {}
        placed: dict[PairKey, int] = {}  # built afresh: pairs pruned from the store go
        for row in rows:
            key = PairKey(row["chain"], row["token_in"], row["token_out"])
            by_id[row["id"]] = key
            if row["pinned_tier"] is not None:
                placed[key] = row["pinned_tier"]
                continue
            score = decayed(row["score"], row["score_at"], now, self.settings.half_life)
            ranked.append((score * (2.0 if key in rising else 1.0), row["id"], row["tier"]))
        ranked.sort(key=lambda r: -r[0])
        moves = assign(
            [(pair_id, tier) for _, pair_id, tier in ranked], self.tiers, self.settings.hysteresis
        )
        await self.store.set_tiers(moves)
        for row in rows:
            if row["pinned_tier"] is None:
                placed[by_id[row["id"]]] = moves.get(row["id"], row["tier"])
        self.pair_tiers = placed
        self.keep_top_tiers()
        return moves

    def keep_top_tiers(self) -> None:
        """The pools of pairs in every tier but the last are followed every block and never let
        go; the last tier's are loaded when asked for and let go least recently priced."""
        for chain, state in self.engine.states().items():
            top = [
                (k.token_in, k.token_out)
                for k, t in self.pair_tiers.items()
                if k.chain == chain and t < LOWEST
            ]
            state.keep(top)

    # operators' edits

    async def save_tier(self, tier: Tier) -> None:
        await self.store.save_tier(tier)
        self.tiers = await self.store.tiers()

    async def pin(self, chain: str, token_in: str, token_out: str, tier: int | None) -> PairKey:
        """Pin a pair to a tier (None unpins: the next re-ranking places it)."""
        if tier is not None and tier not in self.tiers:
            raise PricefeedError(f"tier must be one of {sorted(self.tiers)}, got {tier}")
        chain_, request = await self.engine.request(chain, token_in, token_out)
        key = PairKey(chain_.name, request.token_in.address, request.token_out.address)
        await self.store.pin(key, (request.token_in.symbol, request.token_out.symbol), tier)
        if tier is not None:
            self.pair_tiers[key] = tier
            self.keep_top_tiers()
        return key
