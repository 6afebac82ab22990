"""The workflow names run events carry: read once, reused for 30 s, refreshed by the workflow paths."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.fakes.clock import ManualClock
from workflow_service.webhooks.workflow_names import WorkflowNameCache


class CountingNames:
    def __init__(self, names: dict[str, str]) -> None:
        self.current = names
        self.reads: list[tuple[str, list[str]]] = []

    def names(self, team_id: str, workflow_ids: list[str]) -> dict[str, str]:
        self.reads.append((team_id, workflow_ids))
        return {w: self.current[w] for w in workflow_ids if w in self.current and team_id == "t1"}


def test_a_name_is_read_once_and_reused_until_it_is_30_seconds_old():
    # Given a cache over a store naming one workflow
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    store = CountingNames({"w1": "Intake"})
    cache = WorkflowNameCache(store, clock)
    # When the name is asked for three times, the store renames it, and 30 s pass
    assert cache.name("t1", "w1") == "Intake"
    store.current["w1"] = "Billing"
    clock.advance(seconds=29)
    assert cache.name("t1", "w1") == "Intake"
    clock.advance(seconds=1)
    # Then the store was read once before the 30 s and once after, which names it anew
    assert cache.name("t1", "w1") == "Billing"
    assert store.reads == [("t1", ["w1"]), ("t1", ["w1"])]


def test_what_the_workflow_paths_remember_is_used_without_a_read_and_a_gone_workflow_has_no_name():
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    store = CountingNames({})
    cache = WorkflowNameCache(store, clock)
    cache.remember("t1", "w1", "Renamed")
    assert cache.name("t1", "w1") == "Renamed" and store.reads == []
    # Another team's workflow (or a deleted one) has no name, and that answer is kept too
    assert cache.name("t2", "w1") is None and cache.name("t2", "w1") is None
    assert store.reads == [("t2", ["w1"])]
