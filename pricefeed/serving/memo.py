"""The quote memo: quotes held in memory under their keys (the L1), the store behind it, and
the quotes computed from state written to the store in the background, off the hot path."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

import msgspec
from cachetools import LRUCache

from pricefeed.chain.state import ChainState
from pricefeed.config import CacheSettings
from pricefeed.errors import PricefeedError, StoreUnavailable
from pricefeed.model import Quote, QuoteKey, QuoteRequest
from pricefeed.serving.tiers import Tier
from pricefeed.store import Store

log = logging.getLogger(__name__)
PRUNE_EVERY = 600.0  # seconds between prunings of the store
K = TypeVar("K")
V = TypeVar("V")


@dataclass(slots=True)
class Entry:
    """A held quote and when it was true."""

    quote: Quote
    fetched_at: float  # epoch seconds
    body: bytes | None = None  # the quote's part of the JSON answer, encoded once (see api)


class LRU(Generic[K, V]):
    """A map of at most `size` items that lets the least recently used go. No I/O."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def peek(self, key: K) -> V | None:
        """Like get, without counting as a use."""
        return self._items.get(key)

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)


class Memo:
    def __init__(self, store: Store, settings: CacheSettings, clock: Callable[[], float]):
        self.store = store
        self.settings = settings
        self.clock = clock
        self.l1: LRU[QuoteKey, Entry] = LRU(settings.l1_size)
        # quotes computed from state since the last flush: written then, in one transaction, so
        # the store has each asked amount's latest quote (and price history)
        self._unsaved: dict[QuoteKey, Quote] = {}
        self._recorded: LRUCache[QuoteKey, float] = LRUCache(
            settings.l1_size
        )  # when, in the state's time

    async def load(self) -> None:
        """The most wanted quotes as the store has them: a warm restart."""
        for stored in reversed(await self.store.recent_quotes(self.l1.size)):
            self.l1.put(quote_key(stored.quote), Entry(stored.quote, stored.fetched_at))

    async def newer_in_store(self, key: QuoteKey, entry: Entry | None) -> Entry | None:
        """The store's quote of `key` if it is newer than `entry` (another process may have
        refreshed it), held from now on; `entry` if the store cannot be read."""
        try:
            stored = await self.store.load_quote(key)
        except StoreUnavailable as e:  # memory still serves
            log.error("cache: %s", e)
            return entry
        if stored is not None and (entry is None or stored.fetched_at > entry.fetched_at):
            entry = Entry(stored.quote, stored.fetched_at)
            self.l1.put(key, entry)
        return entry

    async def remember(self, quotes: list[Quote]) -> None:
        """Fresh quotes: into the store, then into memory (which serves on if the store fails);
        a pair never goes back to an older block."""
        try:
            await self.store.save_quotes(quotes)
        except StoreUnavailable as e:
            log.error("%d fresh quotes kept in memory only: %s", len(quotes), e)
        for q in quotes:
            key = quote_key(q)
            current = self.l1.peek(key)
            if current is None or current.quote.block_number <= q.block_number:
                self.l1.put(key, Entry(q, q.fetched_at.timestamp()))

    def record(self, key: QuoteKey, entry: Entry, tier: Tier) -> None:
        """Keep a quote computed from state for the next flush: one per its tier's period of
        the state's own time (when it was seen at the head), as a refresh would; the store's
        count cap and pruning bound what this adds."""
        if entry.fetched_at - self._recorded.get(key, -1e18) >= tier.period:
            self._recorded[key] = entry.fetched_at
            self._unsaved[key] = entry.quote

    def at_head(
        self, key: QuoteKey, request: QuoteRequest, state: ChainState, tier: Tier
    ) -> Entry | None:
        """The quote of `key` at the state's head: the one held if it was computed at this
        block, else computed now (and recorded); None if the state does not hold its pools."""
        entry = self.l1.get(key)
        if entry is not None and entry.quote.block_hash == state.head.hash:
            if entry.fetched_at == state.confirmed_at:
                return entry
            # the same block, seen as the head again: the quote is true as of then
            confirmed = datetime.fromtimestamp(state.confirmed_at, UTC)
            quote = msgspec.structs.replace(entry.quote, fetched_at=confirmed)
        else:
            quote = state.quote_held(request)
            if quote is None:
                return None
            if isinstance(quote, PricefeedError):
                raise quote
        entry = Entry(quote, state.confirmed_at)
        self.l1.put(key, entry)
        self.record(key, entry, tier)
        return entry

    async def flush(self) -> None:
        """Write the quotes computed from state since the last flush, in one transaction."""
        unsaved, self._unsaved = self._unsaved, {}
        try:
            await self.store.save_quotes(list(unsaved.values()))
        except StoreUnavailable as e:  # computed from state again when asked: nothing is lost
            log.error("%d quotes from state not written: %s", len(unsaved), e)

    async def prune(self) -> dict[str, int]:
        """Forget what nobody asks for any more, in the store (see `Store.prune`)."""
        s = self.settings
        return await self.store.prune(
            self.clock(),
            s.quote_retention,
            s.max_stored_quotes,
            s.history_retention,
            s.pair_retention,
        )

    async def prune_store(self) -> None:
        """The background job: prune, and say what went."""
        log.info("pruned from the store: %s", await self.prune())


def quote_key(q: Quote) -> QuoteKey:
    return QuoteKey(q.chain, q.token_in.address, q.token_out.address, q.amount_in_raw)
