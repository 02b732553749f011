"""Persistence: the one place that talks to the database."""

from pricefeed.store.store import Demand, PairKey, QuoteKey, Store, StoredQuote

__all__ = ["Demand", "PairKey", "QuoteKey", "Store", "StoredQuote"]
