"""``ports.LeaseStore`` over ``MongoLeaseStore`` and the in-memory fake the unit tests use."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fakes.clock import T0
from tests.fakes.concurrency import InMemoryLeaseStore
from workflow_service.adapters.mongo.leases import LEASES, MongoLeaseStore
from workflow_service.models.concurrency import HoldResult, Lease, LeaseScope

TEAM, WORKFLOW = LeaseScope.TEAM, LeaseScope.WORKFLOW
AT = T0 + timedelta(microseconds=123_456)  # stored to the millisecond, as BSON dates are


@pytest.fixture(params=["mongo", "fake"])
def leases(request: pytest.FixtureRequest):
    if request.param == "mongo":
        return MongoLeaseStore(request.getfixturevalue("database"))
    return InMemoryLeaseStore()


def hold(leases, run_id: str, limit: int, *, scope=TEAM, owner: str = "t", at=AT, token=None) -> HoldResult:
    return leases.try_hold(scope, owner, "t", run_id, limit, at, token)


def test_slots_are_granted_up_to_the_limit_then_refused_naming_the_holders_in_order(leases):
    assert [hold(leases, run_id, 2).granted for run_id in ("r1", "r2")] == [True, True]
    assert hold(leases, "r3", 2) == HoldResult(granted=False, holders=("r1", "r2"))
    assert hold(leases, "r1", 2, token="mine").token == "mine"  # a caller-chosen token is the one written


@pytest.mark.parametrize("limit", [1, 2, 0], ids=["full", "room", "no-cap"])
def test_a_holder_asking_again_is_regranted_without_taking_a_second_slot(leases, limit):
    first = hold(leases, "r1", limit)
    assert first.granted and not first.regranted
    again = hold(leases, "r1", limit, token="second")
    # The entry is refreshed under the new token, and the grant says the run held the slot already
    assert again == HoldResult(granted=True, token="second", regranted=True)
    assert list(leases.get(TEAM, "t").holders) == ["r1"]
    assert leases.get(TEAM, "t").tokens["r1"] == "second"


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
    # Given a run holding its team slot and its workflow slot under one token, and the team full
    token = hold(leases, "r1", 1, token="acq-1").token
    hold(leases, "r1", 0, scope=WORKFLOW, owner="w", token=token)
    hold(leases, "r1", 0, scope=WORKFLOW, owner="other", token=token)
    # When it releases the team and workflow leases with that token, twice
    assert [leases.release("r1", token, [(TEAM, "t"), (WORKFLOW, "w")]) for _ in range(2)] == [2, 0]
    # Then those two no longer list it, the unlisted one still does, and the freed slot can be taken
    assert leases.get(TEAM, "t").holders == {} and leases.get(WORKFLOW, "w").holders == {}
    assert list(leases.get(WORKFLOW, "other").holders) == ["r1"]
    assert hold(leases, "r2", 1).granted
    assert leases.release("never-held", None, [(TEAM, "t"), (WORKFLOW, "missing")]) == 0
    assert list(leases.get(TEAM, "t").holders) == ["r2"]


def test_every_grant_writes_a_fresh_token_and_a_release_naming_an_older_one_is_a_no_op(leases):
    # Given a run granted a slot, then granted it again (a re-grant: a resume after a pause's release raced)
    first = hold(leases, "r1", 1)
    second = hold(leases, "r1", 1)
    # Then each grant returned its own token and the lease carries the newest
    assert first.granted and second.granted and first.token and first.token != second.token
    assert leases.get(TEAM, "t").tokens == {"r1": second.token}
    # When a late releaser names the first grant
    assert leases.release("r1", first.token, [(TEAM, "t")]) == 0
    # Then the slot stays held; the newest grant's release frees it
    assert list(leases.get(TEAM, "t").holders) == ["r1"]
    assert leases.release("r1", second.token, [(TEAM, "t")]) == 1
    assert leases.get(TEAM, "t").holders == {} and leases.get(TEAM, "t").tokens == {}


def test_both_holds_together_write_the_same_token_into_both_leases(leases):
    team, workflow = leases.try_hold_team_and_workflow("t", "w", "r1", 2, 2, AT)
    assert team.token and workflow is not None and workflow.token == team.token
    assert leases.get(TEAM, "t").tokens == {"r1": team.token} == leases.get(WORKFLOW, "w").tokens
    assert leases.release("r1", team.token, [(TEAM, "t"), (WORKFLOW, "w")]) == 2


def test_a_release_without_a_token_matches_only_an_entry_written_without_one(leases, request):
    # Given a lease written before tokens existed: its holder has no token
    if isinstance(leases, MongoLeaseStore):
        document = {"_id": "team:t", "scope": "team", "team_id": "t", "holders": ["old"], "since": {"old": AT}}
        request.getfixturevalue("database")[LEASES].insert_one(document)
    else:
        leases.seed(Lease(key="team:t", scope=TEAM, team_id="t", holders={"old": AT}))
    hold(leases, "new", 0)
    # Then a release naming no token frees the old entry, and no other
    assert leases.release("new", None, [(TEAM, "t")]) == 0
    assert leases.release("old", None, [(TEAM, "t")]) == 1
    assert list(leases.get(TEAM, "t").holders) == ["new"]


def test_get_many_reads_the_existing_leases_by_key(leases):
    hold(leases, "r1", 0)
    hold(leases, "r1", 0, scope=WORKFLOW, owner="w")
    found = leases.get_many(["workflow:w", "team:t", "workflow:missing"])
    assert sorted(found) == ["team:t", "workflow:w"] and list(found["workflow:w"].holders) == ["r1"]
    assert leases.get_many([]) == {}


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
    leases.release("run-b", leases.get(WORKFLOW, "b").tokens["run-b"], [(WORKFLOW, "b")])
    # When they are read in pages of two
    first = leases.held(None, 2)
    second = leases.held(first[-1].key, 2)
    # Then the empty one is skipped and every held lease comes once, in key order
    assert [lease.key for lease in first] == ["workflow:a", "workflow:c"]
    assert [lease.key for lease in second] == ["workflow:d"]
    assert leases.held("workflow:d", 2) == []


def test_drop_holder_removes_a_holder_only_if_it_still_holds_the_slot_acquired_then(leases):
    # Given a run that acquired its slot at AT, and then acquired it again later
    seen = hold(leases, "r1", 0).token
    hold(leases, "r1", 0, at=AT + timedelta(minutes=5))
    # Then dropping it as seen at the first acquisition does nothing
    assert leases.drop_holder("team:t", "r1", seen) is False
    assert "r1" in leases.get(TEAM, "t").holders
    # But dropping it as it is now removes it, once
    current = leases.get(TEAM, "t").tokens["r1"]
    assert leases.drop_holder("team:t", "r1", current) is True
    assert leases.drop_holder("team:t", "r1", current) is False
    assert leases.get(TEAM, "t").holders == {}


def test_retoken_aligns_an_entry_with_its_runs_token_only_if_it_still_carries_the_one_seen(leases):
    # Given a holder whose entry carries a token its run did not record
    seen = hold(leases, "r1", 1).token
    # When the entry is re-aligned naming a token it no longer carries, nothing changes
    assert leases.retoken("team:t", "r1", "stale", "recorded") is False
    # And naming the one it carries, it takes the run's token and keeps its slot
    assert leases.retoken("team:t", "r1", seen, "recorded") is True
    assert leases.get(TEAM, "t").tokens == {"r1": "recorded"} and list(leases.get(TEAM, "t").holders) == ["r1"]
    assert leases.release("r1", "recorded", [(TEAM, "t")]) == 1


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
