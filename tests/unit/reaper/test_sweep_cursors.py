"""Resume points of the reaper's bounded sweeps: a sweep that ran out of budget resumes after the id it
stopped at, one that finished starts over, and a pass reads them all at once."""

from __future__ import annotations

from tests.fakes.schedules import InMemoryReconcilerState
from workflow_service.reaper.cursors import SweepCursors


def test_a_sweep_resumes_after_where_its_budget_ran_out_and_starts_over_once_it_finished():
    state = InMemoryReconcilerState()
    cursors = SweepCursors(state)
    # Given a first pass whose lease sweep stopped after "team:b", and whose run sweep finished
    cursors.begin_pass()
    assert cursors.resume("leases") is None and cursors.resume("runs") is None
    cursors.stopped("leases", "team:b", finished=False)
    cursors.stopped("runs", "run-9", finished=True)
    # When the next pass begins (in another container: a fresh instance over the same store)
    later = SweepCursors(state)
    later.begin_pass()
    # Then the lease sweep resumes after "team:b" and the run sweep starts at the beginning
    assert later.resume("leases") == "team:b" and later.resume("runs") is None
    # And once the lease sweep finishes, the pass after starts it over
    later.stopped("leases", "workflow:z", finished=True)
    later.begin_pass()
    assert later.resume("leases") is None


def test_a_pass_reads_every_resume_point_once_and_writes_only_what_changed():
    state = InMemoryReconcilerState()
    cursors = SweepCursors(state)
    for _ in range(3):  # three quiet passes: every sweep finished from the beginning
        cursors.begin_pass()
        for sweep in ("leases", "runs", "one_time", "history", "firings"):
            cursors.resume(sweep)
            cursors.stopped(sweep, "last-id", finished=True)
    assert (state.loads, state.saves) == (3, 0)


def test_without_a_store_every_sweep_starts_at_the_beginning():
    cursors = SweepCursors()
    cursors.stopped("leases", "team:b", finished=False)
    assert cursors.resume("leases") is None
