"""LeaseAdmission's order of operations over a fake lease store (the store's atomicity is tested on Mongo)."""

from __future__ import annotations

import pytest

from tests.fakes.clock import ManualClock
from tests.fakes.concurrency import FakeConcurrencyLimits, InMemoryLeaseStore
from workflow_service.concurrency.leases import LeaseAdmission
from workflow_service.models.concurrency import LeaseScope


def admission(store, team=2, workflows=None) -> LeaseAdmission:
    return LeaseAdmission(
        store, FakeConcurrencyLimits(team, workflows or {"w": 0}), ManualClock(), default_team_limit=7
    )


def test_team_slot_first_then_workflow_slot():
    store = InMemoryLeaseStore()
    assert admission(store).try_acquire("t", "w", "r1").granted
    assert store.calls == [("hold", "team:t"), ("hold", "workflow:w")]


def test_a_team_refusal_never_touches_the_workflow_lease():
    store = InMemoryLeaseStore()
    subject = admission(store, team=1)
    subject.try_acquire("t", "w", "r1")
    store.calls.clear()
    decision = subject.try_acquire("t", "w", "r2")
    assert (decision.granted, decision.scope, decision.limit, decision.holders) == (False, "team", 1, ("r1",))
    assert store.calls == [("hold", "team:t")]


def test_a_workflow_refusal_gives_the_team_slot_back():
    store = InMemoryLeaseStore()
    subject = admission(store, team=5, workflows={"w": 1})
    subject.try_acquire("t", "w", "r1")
    decision = subject.try_acquire("t", "w", "r2")
    assert (decision.granted, decision.scope, decision.limit) == (False, "workflow", 1)
    assert list(store.get(LeaseScope.TEAM, "t").holders) == ["r1"]


def test_unknown_team_gets_the_default_limit_and_unknown_workflow_no_cap():
    store = InMemoryLeaseStore()
    subject = admission(store, team=None, workflows={})
    granted = [subject.try_acquire("t", "gone", f"r{n}").granted for n in range(8)]
    assert granted == [True] * 7 + [False]


def test_release_frees_both_leases():
    store = InMemoryLeaseStore()
    subject = admission(store, workflows={"w": 3})
    token = subject.try_acquire("t", "w", "r1").token
    subject.release("t", "w", "r1", token)
    assert store.get(LeaseScope.TEAM, "t").holders == {}
    assert store.get(LeaseScope.WORKFLOW, "w").holders == {}


@pytest.mark.parametrize("workflow_limit", [None, 3])
def test_one_acquisition_writes_one_fresh_token_into_both_leases(workflow_limit):
    # Given a run granted its slots, then granted them again (a re-grant)
    store = InMemoryLeaseStore()
    subject = admission(store, workflows={"w": 3})
    first = subject.try_acquire("t", "w", "r1", workflow_limit=workflow_limit)
    second = subject.try_acquire("t", "w", "r1", workflow_limit=workflow_limit)
    # Then each grant carries its own token, and both leases carry the latest one
    assert first.token and second.token and first.token != second.token
    assert store.get(LeaseScope.TEAM, "t").tokens == {"r1": second.token}
    assert store.get(LeaseScope.WORKFLOW, "w").tokens == {"r1": second.token}
    # And a release naming the first grant leaves the slots of the second one alone
    subject.release("t", "w", "r1", first.token)
    assert list(store.get(LeaseScope.TEAM, "t").holders) == ["r1"]
    assert list(store.get(LeaseScope.WORKFLOW, "w").holders) == ["r1"]


def test_restore_gives_a_run_its_slots_back_with_its_token_but_never_above_a_limit():
    store = InMemoryLeaseStore()
    subject = admission(store, workflows={"w": 1})
    # Given a run whose entries went missing, restored with the token it recorded
    assert subject.restore("t", "w", "r1", "recorded").granted
    assert store.get(LeaseScope.TEAM, "t").tokens == {"r1": "recorded"}
    assert store.get(LeaseScope.WORKFLOW, "w").tokens == {"r1": "recorded"}
    # When another run of the capped workflow is restored, it is refused and leaves no team entry behind
    decision = subject.restore("t", "w", "r2", "other")
    assert (decision.granted, decision.scope) == (False, "workflow")
    assert list(store.get(LeaseScope.TEAM, "t").holders) == ["r1"]


def test_a_cap_passed_along_sends_both_holds_together_and_reads_no_workflow():
    store, limits = InMemoryLeaseStore(), FakeConcurrencyLimits(2, {"w": 1})
    subject = LeaseAdmission(store, limits, ManualClock(), default_team_limit=7)

    assert subject.try_acquire("t", "w", "r1", workflow_limit=1).granted
    decision = subject.try_acquire("t", "w", "r2", workflow_limit=1)

    assert (decision.granted, decision.scope, decision.limit, decision.holders) == (False, "workflow", 1, ("r1",))
    assert list(store.get(LeaseScope.TEAM, "t").holders) == ["r1"]  # the refused run gave its team slot back
    assert limits.workflow_reads == 0
    assert [call for call in store.calls if call[0] == "batch"] == [("batch", "team:t+workflow:w")] * 2
