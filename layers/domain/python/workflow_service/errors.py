"""Domain errors. Services raise these; ``http.errors`` is the one table mapping them to statuses."""

from __future__ import annotations

from typing import Any, NamedTuple


class DomainError(Exception):
    """Base of every error a service may raise on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FieldProblem(NamedTuple):
    """One invalid input: where it is (``loc`` as FastAPI spells it), what is wrong, and its kind."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"
    input: Any = None


class ValidationFailed(DomainError):
    """Input that parses but breaks a rule (a past time, a bad cron field, an invalid config)."""

    def __init__(self, problems: list[FieldProblem] | FieldProblem, message: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, FieldProblem) else list(problems)
        super().__init__(message or "; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in self.problems))


class BadRequest(DomainError):
    """A request that is wrong as a whole rather than in one field (e.g. a date window too wide)."""


class Unauthorized(DomainError):
    pass


class NotFound(DomainError):
    def __init__(self, resource: str, identifier: str) -> None:
        super().__init__(f"{resource} {identifier} not found")
        self.resource = resource
        self.identifier = identifier


class Conflict(DomainError):
    """The object exists but is in a state that forbids the operation."""


class IllegalTransition(Conflict):
    def __init__(self, current: str, requested: str) -> None:
        super().__init__(f"cannot {requested} a run whose status is {current}")
        self.current = current
        self.requested = requested


class NoSlotDetails(NamedTuple):
    scope: str  # "team" or "workflow"
    limit: int
    retry_after_seconds: int
    holders: tuple[str, ...] = ()


class NoSlotAvailable(DomainError):
    """A synchronous start found every concurrency slot taken."""

    def __init__(self, details: NoSlotDetails) -> None:
        super().__init__(
            f"{details.scope} concurrency limit of {details.limit} running workflow runs reached; "
            f"retry after {details.retry_after_seconds} seconds"
        )
        self.details = details


class PayloadTooLarge(DomainError):
    pass


class Unstorable(DomainError):
    """A value MongoDB cannot store (an integer beyond 64 bits, a document over 16 MB); nothing was written."""


class StoreUnavailable(DomainError):
    """MongoDB could not be reached; nothing was written."""


class UpstreamUnavailable(DomainError):
    """An AWS dependency failed or throttled; the operation left nothing behind and may be retried."""
