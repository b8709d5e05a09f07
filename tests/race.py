"""Concurrency for tests: many calls released at the same moment."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def at_once(call: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`call(item)` for every item, each in its own thread, all let go together (a barrier),
    so they really race; the results in the order of `items`."""
    items = list(items)
    barrier = threading.Barrier(len(items))

    def run(item: T) -> R:
        barrier.wait()
        return call(item)

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(run, items))
