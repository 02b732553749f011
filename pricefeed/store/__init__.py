"""Persistence: the one place that talks to the database."""

from pricefeed.store.demand import Demand
from pricefeed.store.quotes import StoredQuote
from pricefeed.store.store import Store

__all__ = ["Demand", "Store", "StoredQuote"]
