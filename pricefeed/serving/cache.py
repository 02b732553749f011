"""The in-process L1: a bounded LRU of quotes. Nothing here does I/O."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from pricefeed.model import Quote

K = TypeVar("K")
V = TypeVar("V")


@dataclass(slots=True)
class Entry:
    quote: Quote
    fetched_at: float  # epoch seconds
    body: bytes | None = None  # the quote's part of the JSON answer, encoded once (see api)


class LRU(Generic[K, V]):
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
