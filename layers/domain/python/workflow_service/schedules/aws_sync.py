"""Keeping EventBridge on what MongoDB kept when updates of one schedule race.

Concurrent updates can reach EventBridge in another order than MongoDB. After its own AWS call, an
update re-reads the record and pushes it until both agree; since every writer does this after its
own AWS call, the last one to do so leaves AWS on MongoDB's latest state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

PUSH_ATTEMPTS = 3
logger = logging.getLogger(__name__)
Record = TypeVar("Record")


def push_until_agreed(
    read: Callable[[], Record | None],
    push: Callable[[Record], object],
    agrees: Callable[[Record, Record], bool],
    pushed: Record,
    *,
    label: str,
) -> Record:
    """The record as MongoDB holds it once AWS agrees with it (``pushed`` when it is gone)."""
    for _ in range(PUSH_ATTEMPTS):
        current = read()
        if current is None or agrees(current, pushed):
            return current if current is not None else pushed
        push(current)
        pushed = current
    logger.warning("%s: still changing after %d pushes; left to the last writer", label, PUSH_ATTEMPTS)
    return pushed
