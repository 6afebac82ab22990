"""``ports.ReconcilerStateStore``: the same assertions over MongoDB (``MongoReconcilerState``) and the
in-memory store of the unit tests (``tests.fakes``).

What the reaper's resume points (``reaper.cursors.SweepCursors``) rely on: a save sets only the
fields it names, so two reaper invocations recording different sweeps never undo each other, and a
sweep that finished is recorded as "from the beginning" (None), which reads back as such.
"""

from __future__ import annotations

import pytest

from tests.fakes.schedules import InMemoryReconcilerState
from workflow_service.adapters.mongo.schedule_generations import MongoReconcilerState
from workflow_service.ports.schedules import ReconcilerStateStore
from workflow_service.reaper.cursors import SweepCursors


def mongo(request: pytest.FixtureRequest) -> ReconcilerStateStore:
    return MongoReconcilerState(request.getfixturevalue("database"))


def in_memory(request: pytest.FixtureRequest) -> ReconcilerStateStore:
    return InMemoryReconcilerState()


@pytest.fixture(params=[mongo, in_memory], ids=["mongo", "in_memory"])
def state(request: pytest.FixtureRequest) -> ReconcilerStateStore:
    return request.param(request)


def test_a_key_never_saved_loads_as_nothing(state):
    assert state.load("sweep_cursors") is None


def test_a_save_sets_only_the_fields_it_names_and_none_reads_back_as_none(state):
    state.save("sweep_cursors", {"one_time_needing_push": "6b1239000000000000000001", "one_time_overdue": None})
    state.save("sweep_cursors", {"one_time_overdue": "6b1239000000000000000002"})
    state.save("sweep_cursors", {"one_time_needing_push": None})
    assert state.load("sweep_cursors") == {
        "one_time_needing_push": None,
        "one_time_overdue": "6b1239000000000000000002",
    }
    assert state.load("another_key") is None


def test_overlapping_reaper_passes_keep_each_sweeps_resume_point(state):
    # Given two reaper invocations that overlap (each with its own SweepCursors, as two containers have)
    first, second = SweepCursors(state), SweepCursors(state)
    first.begin_pass()
    second.begin_pass()
    assert first.resume("one_time_needing_push") is None and second.resume("one_time_overdue") is None
    # When each records where a different sweep stopped, the second one last
    first.stopped("one_time_needing_push", "6b1239000000000000000004", finished=False)
    second.stopped("one_time_overdue", "6b1239000000000000000009", finished=False)
    # Then the next pass resumes both sweeps where they stopped
    later = SweepCursors(state)
    later.begin_pass()
    assert later.resume("one_time_needing_push") == "6b1239000000000000000004"
    assert later.resume("one_time_overdue") == "6b1239000000000000000009"
    # And a sweep that reached its end starts over at the beginning on the pass after
    later.stopped("one_time_overdue", "6b123900000000000000000f", finished=True)
    after = SweepCursors(state)
    after.begin_pass()
    assert after.resume("one_time_overdue") is None
    assert after.resume("one_time_needing_push") == "6b1239000000000000000004"
