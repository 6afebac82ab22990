"""Where each bounded sweep of the reaper stopped, kept between passes.

A pass reads at most ``max_batches`` batches per sweep. A sweep over a set that holds healthy items
too (every held lease, every slot-holding run, every running history row) would otherwise start at
the first id on every pass and never reach what lies past its budget: past the first thousand live
leases a leaked slot would stay leaked forever. So a sweep that ran out of budget or time records the
id it stopped after, the next pass resumes there, and a sweep that reaches the end starts over at
the beginning next time: with N candidates, each is seen at least every ceil(N / budget) + 1 passes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_service.ports.schedules import ReconcilerStateStore

_PREFIX = "sweep:"


class SweepCursors:
    """Resume points of named sweeps over a ``ReconcilerStateStore``; without one, every sweep starts
    at the beginning (a test double, or a single small deployment)."""

    def __init__(self, state: ReconcilerStateStore | None = None) -> None:
        self._state = state
        self._loaded: dict[str, str | None] = {}

    def resume(self, sweep: str) -> str | None:
        """The id the sweep stopped after last time (None: from the beginning)."""
        if self._state is None:
            return None
        document = self._state.load(_PREFIX + sweep) or {}
        after = document.get("after")
        self._loaded[sweep] = after if isinstance(after, str) else None
        return self._loaded[sweep]

    def stopped(self, sweep: str, after: str | None, *, finished: bool) -> None:
        """Record where the sweep stopped: after ``after`` when its budget ran out, at the beginning
        when it ``finished``. Written only when it changed, so a quiet pass costs one read per sweep."""
        if self._state is None:
            return
        resume_at = None if finished else after
        if self._loaded.get(sweep) != resume_at:
            self._state.save(_PREFIX + sweep, {"after": resume_at})
            self._loaded[sweep] = resume_at
