"""No side effect after a stop: the turn re-checks its claim right before each LLM and HTTP call.

The engine is built once per container with its LLM and HTTP ports; the wiring hands it these
guarded ports instead, and the turn runner installs, for the duration of one turn, the check they
call first (a conditional write on the turn's claim). A stopped, paused or reaped run fails the
check, the call is never made, and the turn unwinds with ``ClaimLost``. Outside a turn (no check
installed) the ports pass straight through, so nothing else pays for the guard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_service.models.llm_calls import LlmRequest, LlmResponse
    from workflow_service.ports.http import HttpClient, OutboundRequest, OutboundResponse
    from workflow_service.ports.llm import LlmGateway


class ClaimLost(BaseException):
    """The turn no longer owns its run (stopped, paused or reaped): it must execute nothing more.

    A BaseException so that the engine's own failure handling (which turns an Exception of a node
    into a failed workflow step, and may then run other nodes) cannot swallow it.
    """


class SideEffectGuard:
    """The check the current turn (per thread / context) runs before each side effect."""

    def __init__(self) -> None:
        self._check: ContextVar[Callable[[], None] | None] = ContextVar("side_effect_check", default=None)

    @contextmanager
    def checking(self, check: Callable[[], None]) -> Iterator[None]:
        """Run ``check`` before every guarded call made inside the block; it raises ClaimLost to veto."""
        token = self._check.set(check)
        try:
            yield
        finally:
            self._check.reset(token)

    def before_side_effect(self) -> None:
        check = self._check.get()
        if check is not None:
            check()


class GuardedLlm:
    """``ports.LlmGateway`` that asks the guard before every completion."""

    def __init__(self, inner: LlmGateway, guard: SideEffectGuard) -> None:
        self._inner = inner
        self._guard = guard

    def complete(self, request: LlmRequest) -> LlmResponse:
        self._guard.before_side_effect()
        return self._inner.complete(request)


class GuardedHttp:
    """``ports.HttpClient`` that asks the guard before every outbound request."""

    def __init__(self, inner: HttpClient, guard: SideEffectGuard) -> None:
        self._inner = inner
        self._guard = guard

    def send(self, request: OutboundRequest) -> OutboundResponse:
        self._guard.before_side_effect()
        return self._inner.send(request)
