"""Persistence: the one place that talks to the database."""

from pricefeed.store.store import Demand, Store, StoredQuote

__all__ = ["Demand", "Store", "StoredQuote"]
