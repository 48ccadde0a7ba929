"""A small thread-safe LRU cache that builds each missing value once, however many requests
ask for it at the same moment, and counts its hits and misses for `/metrics`."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LruCache(Generic[V]):
    def __init__(self, name: str, capacity: int) -> None:
        self.name = name
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def peek(self, key: Hashable) -> V | None:
        """The cached value, or None; counts a hit only when found (the caller then builds)."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                self.hits += 1
            return value

    def get_or_build(self, key: Hashable, build: Callable[[], V]) -> V:
        found = self.peek(key)
        if found is not None:
            return found
        with self._lock:
            key_lock = self._building.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                value = self._items.get(key)
            if value is not None:  # another request built it while this one waited
                return value
            value = build()
            with self._lock:
                self.misses += 1
                self._items[key] = value
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
                self._building.pop(key, None)
            return value
