"""A small thread-safe memory of recent results: the last few pages parsed (bridge/blog/microformats.py).

A parsed page is a tree about twenty times the size of its HTML, so only a few are kept,
least recently used out first. Keys name the input exactly (the URL and a hash of the
bytes): a changed page is a new key, never a stale hit.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def text_key(url: str, text: str) -> tuple[str, bytes]:
    """The key of a document: its URL and the SHA-256 of its text."""
    return url, hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class Recent(Generic[T]):
    """At most `size` values by key; `get_or_make` runs `make` outside the lock (two threads
    asking for one new key at once may both make it; the last one is kept)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[tuple[str, bytes], T] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: tuple[str, bytes], make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
