"""A per-container cache of answers read at most a few seconds ago (webhook subscriptions, workflow names).

A Lambda container lives for minutes and serves one request at a time, so a plain dict is enough; a
clock that went back makes an answer stale rather than fresh for longer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MOST_KEPT = 10_000


class FreshCache(Generic[K, V]):
    """Answers by key, each reused for ``seconds`` after it was read; past ``most_kept`` keys, all are
    dropped (a container serving very many teams starts afresh rather than growing)."""

    def __init__(self, clock: Clock, seconds: float, *, most_kept: int = MOST_KEPT) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=seconds)
        self._most_kept = most_kept
        self._kept: dict[K, tuple[datetime, V]] = {}

    def get_or_read(self, key: K, read: Callable[[], V]) -> V:
        """The answer kept for ``key`` when it is fresh; otherwise ``read()``'s, kept from now on."""
        kept = self._kept.get(key)
        if kept is not None and kept[0] <= self._clock.now() < kept[0] + self._ttl:
            return kept[1]
        value = read()
        self.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key`` as read now (a writer that knows the new answer)."""
        if len(self._kept) >= self._most_kept:
            self._kept.clear()
        self._kept[key] = (self._clock.now(), value)
