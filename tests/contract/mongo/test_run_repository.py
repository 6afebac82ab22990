"""``ports.RunRepository`` (and ``QueuedTeamFinder``) over ``MongoRunRepository``; the methods the
in-memory fake implements are asserted over both."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from tests.fakes.clock import T0
from tests.fakes.runs import InMemoryRunRepository
from workflow_service.adapters.mongo.runs import MongoRunRepository
from workflow_service.models.runs import RunStatus, WorkflowRun, WorkflowRunsModel
from workflow_service.ports import DuplicateKey

TEAM, OTHER_TEAM = "team-a", "team-b"
WORKFLOW, OTHER_WORKFLOW = "65f1a2b3c4d5e6f708192a3b", "65f1a2b3c4d5e6f708192a3c"


def a_run(status: RunStatus = RunStatus.NOT_STARTED, *, team: str = TEAM, **fields: Any) -> WorkflowRunsModel:
    fields.setdefault("workflow_id", WORKFLOW)
    return WorkflowRunsModel(
        _id=str(ObjectId()),
        team_id=team,
        created_by="alice",
        created_at=T0,
        updated_at=T0,
        workflow_run=WorkflowRun(logical_id="run", status=status, **fields),
    )


def queued(minute: int, **fields: Any) -> WorkflowRunsModel:
    return a_run(queued_at=T0 + timedelta(minutes=minute), **fields)


@pytest.fixture
def mongo_runs(database, clock) -> MongoRunRepository:
    return MongoRunRepository(database, clock)


@pytest.fixture(params=["mongo", "fake"])
def runs(request: pytest.FixtureRequest, clock):
    if request.param == "mongo":
        return request.getfixturevalue("mongo_runs")
    return InMemoryRunRepository(clock=clock)


def stored(runs, *models: WorkflowRunsModel) -> list[WorkflowRunsModel]:
    for model in models:
        runs.insert(model)
    return list(models)


# -- what the fake implements too ------------------------------------------------------------------


def test_an_inserted_run_is_read_back_within_its_team_or_by_trusted_callers(runs):
    [run] = stored(runs, a_run(RunStatus.STARTED))
    assert runs.get(TEAM, run.id) == run
    assert runs.get(None, run.id) == run
    assert runs.get(OTHER_TEAM, run.id) is None
    assert runs.get(TEAM, str(ObjectId())) is None


def test_a_dedupe_key_names_one_run_only(runs):
    # Given a run inserted under a dedupe key
    keyed = a_run()
    runs.insert(keyed, dedupe_key="schedule:1")
    # Then a second run with that key is refused, and the key finds the first
    with pytest.raises(DuplicateKey):
        runs.insert(a_run(), dedupe_key="schedule:1")
    found = runs.find_by_dedupe_key("schedule:1")
    assert found is not None and found.workflow_run.dedupe_key == "schedule:1"
    assert (
        found.model_copy(update={"workflow_run": found.workflow_run.model_copy(update={"dedupe_key": None})}) == keyed
    )
    assert runs.find_by_dedupe_key("schedule:2") is None
    # And runs without a key never collide
    stored(runs, a_run(), a_run())


def test_change_status_writes_only_from_the_given_statuses(runs):
    # Given a started run
    [run] = stored(runs, a_run(RunStatus.STARTED, heartbeat_deadline_at=T0))
    # When another writer expects it to be queued, nothing changes
    assert runs.change_status(None, run.id, ["not_started"], {"status": "running"}) is None
    assert runs.get(None, run.id).workflow_run.status is RunStatus.STARTED
    # When the status is as expected, the changes are set, the unset fields cleared, the run returned
    changed = runs.change_status(
        TEAM, run.id, ["started"], {"status": "failed", "error": "x"}, unset=["heartbeat_deadline_at"]
    )
    assert changed.workflow_run.status is RunStatus.FAILED and changed.workflow_run.error == "x"
    assert changed.workflow_run.heartbeat_deadline_at is None
    assert runs.get(None, run.id) == changed


def test_change_status_honours_the_extra_conditions_and_the_team(runs):
    [run] = stored(runs, a_run(RunStatus.RUNNING, heartbeat_deadline_at=T0))
    assert runs.change_status(OTHER_TEAM, run.id, ["running"], {"status": "failed"}) is None
    assert (
        runs.change_status(None, run.id, ["running"], {"status": "failed"}, where={"workflow_id": OTHER_WORKFLOW})
        is None
    )
    still_alive = {"heartbeat_deadline_at": {"$lt": T0}}
    assert runs.change_status(None, run.id, ["running"], {"status": "failed"}, where=still_alive) is None
    past_deadline = {"heartbeat_deadline_at": {"$lt": T0 + timedelta(seconds=1)}}
    assert runs.change_status(None, run.id, ["running"], {"status": "failed"}, where=past_deadline) is not None


def test_the_queue_is_read_per_workflow_oldest_first(runs):
    # Given queued runs of two workflows, a run of another team, a started run of a third workflow
    late, early, other_workflow = queued(3), queued(1), queued(2, workflow_id=OTHER_WORKFLOW)
    third_workflow = "65f1a2b3c4d5e6f708192a3d"
    stored(
        runs,
        late,
        early,
        other_workflow,
        queued(0, team=OTHER_TEAM),
        a_run(RunStatus.STARTED, workflow_id=third_workflow),
    )
    # Then the team's workflows with queued runs are the two, each with its oldest run as the head
    assert runs.queued_workflow_ids(TEAM) == sorted([WORKFLOW, OTHER_WORKFLOW])
    assert runs.queue_head(TEAM, WORKFLOW).id == early.id
    assert runs.queue_head(TEAM, OTHER_WORKFLOW).id == other_workflow.id
    assert runs.queue_head(TEAM, third_workflow) is None
    assert runs.queue_head(OTHER_TEAM, OTHER_WORKFLOW) is None
    # And once the head starts, the next run of its workflow is the head
    assert runs.change_status(None, early.id, ["not_started"], {"status": "started", "queued_at": None})
    assert runs.queue_head(TEAM, WORKFLOW).id == late.id


def test_runs_queued_at_the_same_time_are_ordered_by_id(runs):
    first, second = sorted([queued(1), queued(1)], key=lambda run: ObjectId(run.id))
    stored(runs, second, first)
    assert runs.queue_head(TEAM, WORKFLOW).id == first.id


def test_stale_lists_runs_past_a_deadline_in_the_given_statuses_earliest_first(runs):
    def waiting(minutes: int, status: RunStatus = RunStatus.RUNNING) -> WorkflowRunsModel:
        return a_run(status, heartbeat_deadline_at=T0 + timedelta(minutes=minutes))

    later, earlier, not_yet, paused = waiting(-1), waiting(-5), waiting(5), waiting(-9, RunStatus.PAUSED)
    stored(runs, later, earlier, not_yet, paused, a_run(RunStatus.RUNNING))
    found = runs.stale(["started", "running"], "heartbeat_deadline_at", T0, 10)
    assert [run.id for run in found] == [earlier.id, later.id]
    assert [run.id for run in runs.stale(["running"], "heartbeat_deadline_at", T0, 1)] == [earlier.id]


def test_statuses_of_names_existing_runs_only(runs):
    started, done = stored(runs, a_run(RunStatus.STARTED), a_run(RunStatus.COMPLETED))
    missing = str(ObjectId())
    assert runs.statuses_of([started.id, done.id, missing]) == {started.id: "started", done.id: "completed"}


def test_the_lease_token_a_status_write_records_is_read_back_and_never_dumped(runs):
    # Given a queued run admitted with the token of its lease acquisition
    [run] = stored(runs, a_run(RunStatus.NOT_STARTED))
    started = runs.change_status(None, run.id, ["not_started"], {"status": "started", "lease_token": "acq-1"})
    # Then the document the write returned and later reads carry the token
    assert started.workflow_run.lease_token == "acq-1"
    assert runs.get(None, run.id).workflow_run.lease_token == "acq-1"
    # And no public dump of the run shows it
    assert "lease_token" not in started.model_dump(mode="json")["workflow_run"]
    # And it stays on the run once the run leaves the slot-holding statuses (its releaser reads it there)
    paused = runs.change_status(None, run.id, ["started"], {"status": "paused"})
    assert paused.workflow_run.lease_token == "acq-1"


def test_slot_states_name_status_and_token_and_slot_holding_pages_by_id(runs):
    # Given runs in every kind of status, some holding a slot under a recorded token
    holding = [
        a_run(status, lease_token=f"t-{status.value}")
        for status in (RunStatus.STARTED, RunStatus.RUNNING, RunStatus.WAITING_FOR_USER_INPUT)
    ]
    others = [a_run(status) for status in (RunStatus.NOT_STARTED, RunStatus.PAUSED, RunStatus.COMPLETED)]
    stored(runs, *holding, *others)
    # Then one read names each existing run's status and token
    states = runs.slot_states_of([holding[0].id, others[1].id, str(ObjectId())])
    assert {run_id: (state.status, state.lease_token) for run_id, state in states.items()} == {
        holding[0].id: ("started", "t-started"),
        others[1].id: ("paused", None),
    }
    assert states[holding[0].id].team_id == TEAM and states[holding[0].id].workflow_id == WORKFLOW
    # And the slot-holding runs come by id, in pages
    first = runs.slot_holding(None, 2)
    rest = runs.slot_holding(first[-1].run_id, 2)
    assert [state.run_id for state in first + rest] == sorted(run.id for run in holding)
    assert len(first) == 2 and runs.slot_holding(rest[-1].run_id, 2) == []


# -- Mongo only -------------------------------------------------------------------------------------


def claim(runs, run_id: str, statuses=("not_started", "started")):
    return runs.claim_turn(TEAM, run_id, list(statuses), T0, T0 + timedelta(minutes=15))


def test_a_turn_is_claimed_once_and_returns_the_state_and_pending_input(mongo_runs):
    # Given a queued run with its engine state and first input
    run = a_run(RunStatus.STARTED)
    mongo_runs.insert(run, state={"node": "greet"}, pending_input={"command": "start"})
    # When its turn is claimed
    claimed, model, state, pending = claim(mongo_runs, run.id)
    # Then it is running, the next turn is 1, and a second claim finds nothing to claim
    assert (claimed.run_id, claimed.turn, model.workflow_run.status) == (run.id, 1, RunStatus.RUNNING)
    assert (state, pending) == ({"node": "greet"}, {"command": "start"})
    assert claim(mongo_runs, run.id, ["running"]) is None


def test_the_heartbeat_is_the_turns_claim_check_it_fails_once_the_run_is_no_longer_running(mongo_runs):
    # Given a claimed turn
    run = a_run(RunStatus.STARTED)
    mongo_runs.insert(run)
    claimed, *_ = claim(mongo_runs, run.id)
    assert mongo_runs.touch_heartbeat(claimed, T0, T0 + timedelta(minutes=1)) is True
    # When the run leaves running with its claim still set (a status write that did not clear it)
    mongo_runs.change_status(None, run.id, ["running"], {"status": "failed"})
    # Then the claim check fails: the turn must not make another call
    assert mongo_runs.touch_heartbeat(claimed, T0, T0 + timedelta(minutes=1)) is False


def test_a_commit_applies_only_with_the_claim_that_holds(mongo_runs):
    run = a_run(RunStatus.STARTED)
    mongo_runs.insert(run)
    claimed, *_ = claim(mongo_runs, run.id)
    pair = {"run_input": {}, "run_output": {"events": []}}
    # A stale claim (another token) commits nothing, and cannot touch the heartbeat
    stolen = type(claimed)(run_id=run.id, token="not-the-token", turn=1)
    assert mongo_runs.commit_turn(stolen, {"status": "completed"}, pair, None) is None
    assert mongo_runs.touch_heartbeat(stolen, T0, T0) is False
    # The holding claim keeps the run alive, then commits the turn once
    assert mongo_runs.touch_heartbeat(claimed, T0, T0 + timedelta(minutes=30)) is True
    committed = mongo_runs.commit_turn(claimed, {"status": "waiting_for_user_input", "turn_number": 1}, pair, {"n": 1})
    assert committed.workflow_run.status is RunStatus.WAITING_FOR_USER_INPUT
    assert len(committed.workflow_run.input_output_pairs) == 1
    assert mongo_runs.commit_turn(claimed, {"status": "completed"}, pair, None) is None
    # And the next claim starts turn 2 with the committed state
    next_claim, _, state, _ = claim(mongo_runs, run.id, ["waiting_for_user_input"])
    assert (next_claim.turn, state) == (2, {"n": 1})


def test_list_is_newest_first_within_the_team_with_filters_and_a_total(mongo_runs):
    runs = [a_run(RunStatus.COMPLETED) for _ in range(3)]
    for minute, run in enumerate(runs):
        mongo_runs.insert(run.model_copy(update={"created_at": T0 + timedelta(minutes=minute)}))
    mongo_runs.insert(a_run(RunStatus.FAILED, team=OTHER_TEAM))
    page, total = mongo_runs.list(TEAM, {}, 0, 2)
    assert [row["_id"] for row in page] == [runs[2].id, runs[1].id] and total == 3
    assert mongo_runs.list(TEAM, {"status": "failed"}, 0, 10) == ([], 0)
    assert "state" not in page[0]["workflow_run"]


def test_comments_are_added_and_removed_by_logical_id(mongo_runs):
    run = a_run(RunStatus.COMPLETED)
    mongo_runs.insert(run)
    added = mongo_runs.add_comment(TEAM, run.id, {"logical_id": "c1", "content": "looks right"})
    assert [comment.content for comment in added.workflow_run.comments] == ["looks right"]
    assert mongo_runs.delete_comment(TEAM, run.id, "missing") is None
    assert mongo_runs.delete_comment(TEAM, run.id, "c1").workflow_run.comments == []
    assert mongo_runs.add_comment(OTHER_TEAM, run.id, {"logical_id": "c2", "content": "x"}) is None


def test_delete_removes_the_run_of_its_team_only(mongo_runs):
    run = a_run(RunStatus.COMPLETED)
    mongo_runs.insert(run)
    assert mongo_runs.delete(OTHER_TEAM, run.id) is False
    assert mongo_runs.delete(TEAM, run.id) is True
    assert mongo_runs.delete(TEAM, run.id) is False and mongo_runs.get(None, run.id) is None


def test_active_runs_of_a_workflow_exclude_ended_ones(mongo_runs):
    active = [a_run(status) for status in (RunStatus.NOT_STARTED, RunStatus.RUNNING, RunStatus.PAUSED)]
    for run in [*active, a_run(RunStatus.COMPLETED), a_run(RunStatus.RUNNING, workflow_id=OTHER_WORKFLOW)]:
        mongo_runs.insert(run)
    found = mongo_runs.active_for_workflow(TEAM, WORKFLOW, 10)
    assert {run.id for run in found} == {run.id for run in active}


def test_queued_team_ids_are_the_distinct_teams_with_queued_runs(mongo_runs):
    for run in (queued(0), queued(1), queued(2, team=OTHER_TEAM), a_run(RunStatus.RUNNING, team="team-c")):
        mongo_runs.insert(run)
    assert mongo_runs.queued_team_ids(10) == [TEAM, OTHER_TEAM]
    [one] = mongo_runs.queued_team_ids(1)
    assert one in {TEAM, OTHER_TEAM}


def test_a_commit_that_would_outgrow_the_run_document_limit_is_refused_before_writing(database, clock):
    from workflow_service.errors import Unstorable

    # Given a store whose run documents may hold 4 KB of turns, and a run with one 1.5 KB turn committed
    runs = MongoRunRepository(database, clock, max_history_bytes=4096)
    run = a_run(RunStatus.STARTED)
    runs.insert(run)
    pair = {"run_input": {}, "run_output": {"events": [{"text": "x" * 1500}]}}
    claimed, *_ = claim(runs, run.id)
    assert runs.commit_turn(claimed, {"status": "waiting_for_user_input", "turn_number": 1}, pair, None) is not None
    # When two more such turns would pass the limit
    second, *_ = claim(runs, run.id, ["waiting_for_user_input"])
    assert second.history_bytes > 1500
    assert runs.commit_turn(second, {"status": "waiting_for_user_input", "turn_number": 2}, pair, None) is not None
    third, *_ = claim(runs, run.id, ["waiting_for_user_input"])
    # Then the commit is refused as unstorable, naming the limit, and the run is as it was
    with pytest.raises(Unstorable, match="start a new run"):
        runs.commit_turn(third, {"status": "completed", "turn_number": 3}, pair, None)
    stored_run = runs.get(None, run.id)
    assert stored_run.workflow_run.status is RunStatus.RUNNING and len(stored_run.workflow_run.input_output_pairs) == 2
    # And the history counter is not part of the public run
    assert "history_bytes" not in stored_run.workflow_run.model_dump()


def test_a_single_turn_producing_more_than_a_turn_may_store_is_refused_before_writing(database, clock):
    from workflow_service.errors import Unstorable

    # Given turns limited to 2 KB each (4 MiB deployed)
    runs = MongoRunRepository(database, clock, max_turn_bytes=2048)
    run = a_run(RunStatus.STARTED)
    runs.insert(run)
    claimed, *_ = claim(runs, run.id)
    big = {"run_input": {}, "run_output": {"events": [{"text": "x" * 3000}]}}
    # When a turn's events pass it, Then the commit is refused naming the per-turn limit, and nothing is written
    with pytest.raises(Unstorable, match="one turn may store"):
        runs.commit_turn(claimed, {"status": "completed", "turn_number": 1}, big, None)
    assert runs.get(None, run.id).workflow_run.input_output_pairs == []
