"""``ports.LeaseStore`` over ``MongoLeaseStore`` and the in-memory fake the unit tests use."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fakes.clock import T0
from tests.fakes.concurrency import InMemoryLeaseStore
from workflow_service.adapters.mongo.leases import MongoLeaseStore
from workflow_service.models.concurrency import HoldResult, LeaseScope

TEAM, WORKFLOW = LeaseScope.TEAM, LeaseScope.WORKFLOW
AT = T0 + timedelta(microseconds=123_456)  # stored to the millisecond, as BSON dates are


@pytest.fixture(params=["mongo", "fake"])
def leases(request: pytest.FixtureRequest):
    if request.param == "mongo":
        return MongoLeaseStore(request.getfixturevalue("database"))
    return InMemoryLeaseStore()


def hold(leases, run_id: str, limit: int, *, scope=TEAM, owner: str = "t", at=AT) -> HoldResult:
    return leases.try_hold(scope, owner, "t", run_id, limit, at)


def test_slots_are_granted_up_to_the_limit_then_refused_naming_the_holders_in_order(leases):
    assert [hold(leases, run_id, 2).granted for run_id in ("r1", "r2")] == [True, True]
    assert hold(leases, "r3", 2) == HoldResult(granted=False, holders=("r1", "r2"))


def test_a_holder_asking_again_is_granted_without_taking_a_second_slot(leases):
    hold(leases, "r1", 1)
    assert hold(leases, "r1", 1).granted
    assert list(leases.get(TEAM, "t").holders) == ["r1"]


def test_a_limit_of_zero_means_no_cap(leases):
    assert all(hold(leases, f"r{n}", 0).granted for n in range(20))
    assert len(leases.get(TEAM, "t").holders) == 20


def test_a_lease_records_its_owner_and_when_each_holder_acquired_it_to_the_millisecond(leases):
    # Given a lease never held
    assert leases.get(WORKFLOW, "w") is None
    # When a run holds a workflow slot
    hold(leases, "r1", 3, scope=WORKFLOW, owner="w")
    # Then the lease names its scope, team and workflow, and the holder's acquisition time
    lease = leases.get(WORKFLOW, "w")
    assert (lease.key, lease.scope, lease.team_id, lease.workflow_id) == ("workflow:w", WORKFLOW, "t", "w")
    assert lease.holders == {"r1": AT.replace(microsecond=123_000)}
    hold(leases, "r2", 3)
    assert leases.get(TEAM, "t").workflow_id is None


def test_release_frees_the_listed_leases_only_and_is_idempotent(leases):
    # Given a run holding its team slot and its workflow slot, and the team full
    hold(leases, "r1", 1)
    hold(leases, "r1", 0, scope=WORKFLOW, owner="w")
    hold(leases, "r1", 0, scope=WORKFLOW, owner="other")
    # When it releases the team and workflow leases, twice
    for _ in range(2):
        leases.release("r1", [(TEAM, "t"), (WORKFLOW, "w")])
    # Then those two no longer list it, the unlisted one still does, and the freed slot can be taken
    assert leases.get(TEAM, "t").holders == {} and leases.get(WORKFLOW, "w").holders == {}
    assert list(leases.get(WORKFLOW, "other").holders) == ["r1"]
    assert hold(leases, "r2", 1).granted
    leases.release("never-held", [(TEAM, "t"), (WORKFLOW, "missing")])
    assert list(leases.get(TEAM, "t").holders) == ["r2"]


def test_for_team_lists_the_team_lease_and_its_workflow_leases_by_key(leases):
    hold(leases, "r1", 0, scope=WORKFLOW, owner="w2")
    hold(leases, "r1", 0)
    hold(leases, "r2", 0, scope=WORKFLOW, owner="w1")
    leases.try_hold(TEAM, "other-team", "other-team", "r9", 0, AT)
    assert [lease.key for lease in leases.for_team("t")] == ["team:t", "workflow:w1", "workflow:w2"]


def test_held_pages_through_leases_with_holders_by_key(leases):
    # Given four leases, one of which has been emptied
    for owner in ("a", "b", "c", "d"):
        hold(leases, f"run-{owner}", 0, scope=WORKFLOW, owner=owner)
    leases.release("run-b", [(WORKFLOW, "b")])
    # When they are read in pages of two
    first = leases.held(None, 2)
    second = leases.held(first[-1].key, 2)
    # Then the empty one is skipped and every held lease comes once, in key order
    assert [lease.key for lease in first] == ["workflow:a", "workflow:c"]
    assert [lease.key for lease in second] == ["workflow:d"]
    assert leases.held("workflow:d", 2) == []


def test_drop_holder_removes_a_holder_only_if_it_still_holds_the_slot_acquired_then(leases):
    # Given a run that acquired its slot at AT, and then acquired it again later
    hold(leases, "r1", 0)
    seen = leases.get(TEAM, "t").holders["r1"]
    hold(leases, "r1", 0, at=AT + timedelta(minutes=5))
    # Then dropping it as seen at the first acquisition does nothing
    assert leases.drop_holder("team:t", "r1", seen) is False
    assert "r1" in leases.get(TEAM, "t").holders
    # But dropping it as it is now removes it, once
    current = leases.get(TEAM, "t").holders["r1"]
    assert leases.drop_holder("team:t", "r1", current) is True
    assert leases.drop_holder("team:t", "r1", current) is False
    assert leases.get(TEAM, "t").holders == {}


@pytest.mark.parametrize("run_id", ["", "a.b", "$where"])
def test_a_run_id_that_would_change_the_stored_field_paths_is_refused(leases, run_id):
    with pytest.raises(ValueError):
        hold(leases, run_id, 1)


def test_both_holds_together_stop_at_a_full_team_and_report_a_full_workflow(leases):
    # Given a team with one slot left of two and a workflow whose single slot is taken
    hold(leases, "r1", 2)
    hold(leases, "r1", 1, scope=WORKFLOW, owner="w")
    # When another run of that workflow asks for both slots at once
    team, workflow = leases.try_hold_team_and_workflow("t", "w", "r2", 2, 1, AT)
    # Then the team slot is taken and the workflow refusal names its holder (the caller gives the team slot back)
    assert team.granted and workflow == HoldResult(granted=False, holders=("r1",))
    assert list(leases.get(TEAM, "t").holders) == ["r1", "r2"]
    # And when the team is full, the workflow is not even asked
    team, workflow = leases.try_hold_team_and_workflow("t", "w", "r3", 2, 1, AT)
    assert team == HoldResult(granted=False, holders=("r1", "r2")) and workflow is None
    assert list(leases.get(WORKFLOW, "w").holders) == ["r1"]


def test_both_holds_together_grant_both_when_both_have_room(leases):
    team, workflow = leases.try_hold_team_and_workflow("t", "w", "r1", 2, 2, AT)
    assert team.granted and workflow is not None and workflow.granted
    assert list(leases.get(TEAM, "t").holders) == ["r1"] and list(leases.get(WORKFLOW, "w").holders) == ["r1"]
