"""The Store: everything the feed keeps, behind one class. SQLite now; the URL picks the backend.

Each concern's tables and queries live in a module of their own (quotes, pairs, demand and
refresh claims, pool states, chart samples, retention), as a part over the shared `Database`.
Store is those parts together. Mixins rather than separate repositories hanging off the Store:
the parts share one reader, one writer and one transaction discipline, and callers keep asking
one object (`store.save_quotes(...)`, `store.claim(...)`) without knowing which part answers.
"""

from __future__ import annotations

from pricefeed.store.demand import DemandStore
from pricefeed.store.pairs import PairStore
from pricefeed.store.pool_states import PoolStateStore
from pricefeed.store.quotes import QuoteStore
from pricefeed.store.retention import Retention
from pricefeed.store.samples import SampleStore


class Store(QuoteStore, PairStore, DemandStore, PoolStateStore, SampleStore, Retention):
    """The one object callers hold; see the module docstring for its parts."""
