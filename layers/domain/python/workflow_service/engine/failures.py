"""How a turn ends early: a workflow problem that fails the run, and the unwinding that follows it."""

from __future__ import annotations

import traceback

from workflow_service.conditions import ConditionError
from workflow_service.ports.llm import LlmError

from .templating import MissingVariable


class WorkflowFailure(Exception):
    """A workflow problem that fails the run; the message is written for the workflow's author."""

    def __init__(self, message: str, stack_trace: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.stack_trace = stack_trace


class TurnStopped(Exception):
    """Unwinds the thread scheduler once the turn's outcome is decided (failed or aborted)."""


class HeartbeatFailed(Exception):
    """Carries the caller's heartbeat exception past the engine's own failure handling."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


def describe(exc: Exception, where: str) -> tuple[str, str | None]:
    """The ``workflow_error`` message and stack trace for ``exc`` raised in ``where`` (call it in ``except``)."""
    if isinstance(exc, WorkflowFailure):
        return exc.message, exc.stack_trace
    if isinstance(exc, MissingVariable):
        return f"{exc} in {where}", None
    if isinstance(exc, ConditionError):
        return f"{where}: {exc}", None
    if isinstance(exc, LlmError):
        return f"the LLM call of {where} failed: {exc}", traceback.format_exc()
    return f"{where} failed: {type(exc).__name__}: {exc}", traceback.format_exc()
