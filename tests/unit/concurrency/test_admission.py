"""LeaseAdmission's order of operations over a fake lease store (the store's atomicity is tested on Mongo)."""

from __future__ import annotations

from datetime import datetime

from tests.unit.concurrency.fakes import FixedClock
from workflow_service.concurrency.leases import LeaseAdmission
from workflow_service.models.concurrency import HoldResult, LeaseScope, lease_key


class FakeLeaseStore:
    def __init__(self) -> None:
        self.leases: dict[str, list[str]] = {}
        self.calls: list[tuple[str, str]] = []

    def try_hold(
        self, scope: LeaseScope, owner_id: str, team_id: str, run_id: str, limit: int, at: datetime
    ) -> HoldResult:
        key = lease_key(scope, owner_id)
        self.calls.append(("hold", key))
        holders = self.leases.setdefault(key, [])
        if run_id in holders or limit == 0 or len(holders) < limit:
            if run_id not in holders:
                holders.append(run_id)
            return HoldResult(granted=True)
        return HoldResult(granted=False, holders=tuple(holders))

    def try_hold_team_and_workflow(
        self, team_id: str, workflow_id: str, run_id: str, team_limit: int, workflow_limit: int, at: datetime
    ) -> tuple[HoldResult, HoldResult | None]:
        self.calls.append(("batch", f"team:{team_id}+workflow:{workflow_id}"))
        team = self.try_hold(LeaseScope.TEAM, team_id, team_id, run_id, team_limit, at)
        if not team.granted:
            return team, None
        return team, self.try_hold(LeaseScope.WORKFLOW, workflow_id, team_id, run_id, workflow_limit, at)

    def release(self, run_id: str, leases: list[tuple[LeaseScope, str]]) -> None:
        for scope, owner_id in leases:
            key = lease_key(scope, owner_id)
            self.calls.append(("release", key))
            if run_id in self.leases.get(key, []):
                self.leases[key].remove(run_id)


class Limits:
    def __init__(self, team: int | None, workflows: dict[str, int]) -> None:
        self.team, self.workflows = team, workflows
        self.workflow_reads = 0

    def team_limit(self, team_id: str) -> int | None:
        return self.team

    def workflow_limits(self, team_id: str, workflow_ids: list[str]) -> dict[str, int]:
        self.workflow_reads += 1
        return {w: self.workflows[w] for w in workflow_ids if w in self.workflows}


def admission(store, team=2, workflows=None) -> LeaseAdmission:
    return LeaseAdmission(store, Limits(team, workflows or {"w": 0}), FixedClock(), default_team_limit=7)


def test_team_slot_first_then_workflow_slot():
    store = FakeLeaseStore()
    assert admission(store).try_acquire("t", "w", "r1").granted
    assert store.calls == [("hold", "team:t"), ("hold", "workflow:w")]


def test_a_team_refusal_never_touches_the_workflow_lease():
    store = FakeLeaseStore()
    subject = admission(store, team=1)
    subject.try_acquire("t", "w", "r1")
    store.calls.clear()
    decision = subject.try_acquire("t", "w", "r2")
    assert (decision.granted, decision.scope, decision.limit, decision.holders) == (False, "team", 1, ("r1",))
    assert store.calls == [("hold", "team:t")]


def test_a_workflow_refusal_gives_the_team_slot_back():
    store = FakeLeaseStore()
    subject = admission(store, team=5, workflows={"w": 1})
    subject.try_acquire("t", "w", "r1")
    decision = subject.try_acquire("t", "w", "r2")
    assert (decision.granted, decision.scope, decision.limit) == (False, "workflow", 1)
    assert store.leases["team:t"] == ["r1"]


def test_unknown_team_gets_the_default_limit_and_unknown_workflow_no_cap():
    store = FakeLeaseStore()
    subject = admission(store, team=None, workflows={})
    granted = [subject.try_acquire("t", "gone", f"r{n}").granted for n in range(8)]
    assert granted == [True] * 7 + [False]


def test_release_frees_both_leases():
    store = FakeLeaseStore()
    subject = admission(store, workflows={"w": 3})
    subject.try_acquire("t", "w", "r1")
    subject.release("t", "w", "r1")
    assert store.leases == {"team:t": [], "workflow:w": []}


def test_a_cap_passed_along_sends_both_holds_together_and_reads_no_workflow():
    store, limits = FakeLeaseStore(), Limits(2, {"w": 1})
    subject = LeaseAdmission(store, limits, FixedClock(), default_team_limit=7)

    assert subject.try_acquire("t", "w", "r1", workflow_limit=1).granted
    decision = subject.try_acquire("t", "w", "r2", workflow_limit=1)

    assert (decision.granted, decision.scope, decision.limit, decision.holders) == (False, "workflow", 1, ("r1",))
    assert store.leases["team:t"] == ["r1"]  # the refused run gave its team slot back
    assert limits.workflow_reads == 0
    assert [call for call in store.calls if call[0] == "batch"] == [("batch", "team:t+workflow:w")] * 2
