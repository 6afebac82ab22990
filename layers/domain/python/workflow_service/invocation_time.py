"""How much time the current Lambda invocation has left.

Set once per invocation by ``observability.invocation`` from the Lambda context (the local runtime
passes a context with the same method), read by whatever must finish before the function is killed:
a turn stops with a reason instead of dying mid-write at the timeout. Outside an invocation (tests,
scripts) nothing is known and the readers apply only their own limits.
"""

from __future__ import annotations

import time
from contextvars import ContextVar, Token
from typing import Any

_deadline: ContextVar[float | None] = ContextVar("invocation_deadline", default=None)


def start(context: Any) -> Token[float | None]:
    """Record the invocation's deadline (on the monotonic clock) from ``context``, when it tells one."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    deadline = time.monotonic() + remaining_ms() / 1000.0 if callable(remaining_ms) else None
    return _deadline.set(deadline)


def end(token: Token[float | None]) -> None:
    _deadline.reset(token)


def seconds_left() -> float | None:
    """Seconds until the current invocation times out; None outside an invocation."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()
