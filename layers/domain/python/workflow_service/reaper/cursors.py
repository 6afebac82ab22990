"""Where each bounded sweep of the reaper stopped, kept between passes.

A pass reads at most ``max_batches`` batches per sweep. A sweep over a set that holds healthy items
too (every held lease, every slot-holding run, every running history row) would otherwise start at
the first id on every pass and never reach what lies past its budget: past the first thousand live
leases a leaked slot would stay leaked forever. The same holds for a set of repairs some of which
keep failing (schedules whose push AWS refuses every time): they stay in the set, and more of them
than one pass reads would hide every other one. So a sweep that ran out of budget or time records the
id it stopped after, the next pass resumes there, and a sweep that reaches the end starts over at
the beginning next time: with N candidates, each is seen at least every ceil(N / budget) + 1 passes,
a failed repair included (it may have been a throttle).

Resume points are hints, never claims: a pass that dies before recording its own repeats work the
next pass (every repair is idempotent), and two overlapping passes may each record theirs, the later
write winning, which at worst repeats work too. No sweep skips a candidate beyond the next round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_service.ports.schedules import ReconcilerStateStore

_KEY = "sweep_cursors"  # one document for every sweep: one read a pass


class SweepCursors:
    """Resume points of named sweeps over a ``ReconcilerStateStore``; without one, every sweep starts
    at the beginning (a test double, or a single small deployment)."""

    def __init__(self, state: ReconcilerStateStore | None = None) -> None:
        self._state = state
        self._loaded: dict[str, str | None] | None = None

    def begin_pass(self) -> None:
        """Forget what was read: the next ``resume`` reads the resume points again (another container's
        reaper may have moved them since)."""
        self._loaded = None

    def resume(self, sweep: str) -> str | None:
        """The id the sweep stopped after last time (None: from the beginning)."""
        after = self._points().get(sweep)
        return after if isinstance(after, str) else None

    def stopped(self, sweep: str, after: str | None, *, finished: bool) -> None:
        """Record where the sweep stopped: after ``after`` when its budget ran out, at the beginning
        when it ``finished``. Written only when it changed, so a quiet pass costs one read in all."""
        if self._state is None:
            return
        resume_at = None if finished else after
        points = self._points()
        if points.get(sweep) != resume_at:
            self._state.save(_KEY, {sweep: resume_at})
            points[sweep] = resume_at

    def _points(self) -> dict[str, str | None]:
        if self._loaded is None:
            self._loaded = dict(self._state.load(_KEY) or {}) if self._state is not None else {}
        return self._loaded
