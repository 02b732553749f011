"""The operators' pairs list (dashboard and /admin/pairs): it only reads."""

from __future__ import annotations

from pricefeed.errors import PricefeedError
from pricefeed.model import PairKey, Quote, QuoteRequest
from pricefeed.serving.demand import PairDemand
from pricefeed.serving.feed import Feed
from pricefeed.serving.tiers import decayed
from pricefeed.store import StoredQuote

PAIR_ORDERS = {
    "popularity": lambda r: -r["popularity"],
    "tier": lambda r: (r["tier"], -r["popularity"]),
    "pair": lambda r: (r["chain"], r["pair"]),
    "age": lambda r: r["ageMs"] if r["ageMs"] is not None else float("inf"),
    "hits": lambda r: -r["hits"],
}


async def pairs_view(
    feed: Feed, search: str = "", sort: str = "popularity", limit: int = 50, offset: int = 0
) -> dict:
    """Pairs for operators: tier, pin, popularity, hits/misses, last price and its age. Reads
    only: the store's rows with what this process counted since its last flush added on. The
    page's followed pairs show their held state as it is now (sorting is by what was stored:
    quoting every pair for one page would cost a quote computation per pair)."""
    if sort not in PAIR_ORDERS:
        raise PricefeedError(f"sort must be one of {', '.join(PAIR_ORDERS)}, got {sort!r}")
    now = feed.clock()
    async with feed.flushing:  # not midway, when the drained counts are not stored yet
        latest = await feed.store.latest_quotes()
        stored = {
            PairKey(p["chain"], p["token_in"], p["token_out"]): p for p in await feed.store.pairs()
        }
        counted = dict(feed.demand.pairs.items())
    rows, lasts = [], {}
    for key in stored.keys() | counted.keys():
        row, pending = stored.get(key), counted.get(key)
        symbols = (row["symbol_in"], row["symbol_out"]) if row else pending.symbols
        if search.lower() not in f"{key.chain} {symbols[0]}/{symbols[1]}".lower():
            continue  # before any figure of it is worked out
        last = lasts[key] = latest.get(row["id"]) if row else None
        rows.append(_pair_line(feed, key, symbols, row, pending, last, now))
    rows.sort(key=PAIR_ORDERS[sort])
    page = rows[offset : offset + limit]
    for line in page:
        last = lasts[PairKey(line["chain"], line["tokenIn"], line["tokenOut"])]
        if last and (live := _from_held_state(feed, last.quote)):
            price, at = live  # followed every block: as the state is now, not as stored
            line["lastPrice"], line["ageMs"] = price, int((now - at) * 1000)
    return {"total": len(rows), "offset": offset, "limit": limit, "pairs": page}


def _pair_line(
    feed: Feed,
    key: PairKey,
    symbols: tuple[str, str],
    row: dict | None,
    pending: PairDemand | None,
    last: StoredQuote | None,
    now: float,
) -> dict:
    """One pair as listed: its stored row (if any) with the counts since the last flush added."""
    return {
        "chain": key.chain,
        "pair": f"{symbols[0]}/{symbols[1]}",
        "tokenIn": key.token_in,
        "tokenOut": key.token_out,
        "tier": feed.tier(key).tier,
        "pinned": bool(row) and row["pinned_tier"] is not None,
        "popularity": _popularity(feed, row, pending, now),
        "hits": (row["hits"] + row["stale"] if row else 0)
        + (pending.hits + pending.stale if pending else 0),
        "misses": (row["misses"] if row else 0) + (pending.misses if pending else 0),
        "lastPrice": last.quote.price if last else None,
        "lastAmount": f"{last.quote.amount_in} {symbols[0]}" if last else None,
        "ageMs": int((now - last.fetched_at) * 1000) if last else None,
    }


def _popularity(feed: Feed, row: dict | None, pending: PairDemand | None, now: float) -> float:
    """The newer of the stored score and the one counted in memory, decayed to now."""
    score, score_at = (pending.score, pending.score_at) if pending else (0.0, now)
    if pending is None or (row and row["score_at"] > pending.score_at):
        score, score_at = row["score"], row["score_at"]
    return round(decayed(score, score_at, now, feed.settings.half_life), 3)


def _from_held_state(feed: Feed, quote: Quote) -> tuple[str, float] | None:
    """The price of the stored quote's amount from the held state, and when that state was
    last seen at the head; None where the pair's pools are not held (no I/O either way)."""
    state = feed.engine.held(quote.chain)
    if state is None or state.head is None:
        return None
    request = QuoteRequest(quote.token_in, quote.token_out, quote.amount_in_raw)
    answer = state.quote_held(request, observed=False)  # a view: no shadow check for it
    return (answer.price, state.confirmed_at) if isinstance(answer, Quote) else None
