"""A recurring schedule's ``start_at`` / ``end_at`` bounds, applied to the instants a cron yields.

Kept apart from how occurrences are computed (``schedules.cron``, DST policies): whatever instants
come out, a bounded schedule fires only at those with ``start_at <= t <= end_at`` (EventBridge's
StartDate / EndDate are inclusive). Validation of the bounds a request gives lives here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from workflow_service.errors import FieldProblem, ValidationFailed

# "Strictly after" a cursor one tick before start_at includes an occurrence exactly at start_at.
_TICK = timedelta(microseconds=1)


def within(instant: datetime, start_at: datetime | None, end_at: datetime | None) -> bool:
    """Whether ``instant`` lies inside the bounds (both inclusive; None: unbounded on that side)."""
    return (start_at is None or instant >= start_at) and (end_at is None or instant <= end_at)


def cursor_after(after: datetime, start_at: datetime | None) -> datetime:
    """The "strictly after" cursor to list occurrences from, moved up to just before ``start_at``."""
    if start_at is not None and start_at > after:
        return start_at - _TICK
    return after


def bounded(instants: Iterable[datetime], start_at: datetime | None, end_at: datetime | None) -> list[datetime]:
    """``instants`` (ascending) that lie inside the bounds."""
    return [instant for instant in instants if within(instant, start_at, end_at)]


def next_within(
    next_after: Callable[[datetime], datetime | None],
    after: datetime,
    start_at: datetime | None,
    end_at: datetime | None,
) -> datetime | None:
    """The first occurrence strictly after ``after`` inside the bounds (None: none is left)."""
    candidate = next_after(cursor_after(after, start_at))
    if candidate is None or (end_at is not None and candidate > end_at):
        return None
    return candidate


def check_bounds(
    start_at: datetime | None,
    end_at: datetime | None,
    now: datetime,
    *,
    end_loc: tuple[str, ...] = ("body", "end_at"),
    end_given: bool = True,
) -> None:
    """Refuse an ``end_at`` already past (when the request gives it) or not after ``start_at``."""
    if end_at is None:
        return
    if end_given and end_at <= now:
        raise ValidationFailed(FieldProblem(end_loc, "must be in the future", "value_error", end_at.isoformat()))
    if start_at is not None and end_at <= start_at:
        raise ValidationFailed(
            FieldProblem(end_loc, f"must be after start_at ({start_at.isoformat()})", "value_error", end_at.isoformat())
        )
