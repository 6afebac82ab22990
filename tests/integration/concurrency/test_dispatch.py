"""Queued runs start FIFO per team as slots free, respecting workflow caps (real runs service, worker, store)."""

from __future__ import annotations

from tests.integration.concurrency.helpers import (
    drain_worker,
    holders,
    make_team,
    make_workflow,
    status_of,
    stored_run,
    submit,
)
from tests.support.api import Caller, call
from workflow_service.models.runs import RunCommand, WorkflowRunInput, WorkflowRunsModel


def stop(services, team_id: str, run_id: str) -> None:
    services.runs.submission.start_or_resume(
        Caller(team_id, "alice"), WorkflowRunInput(command=RunCommand.STOP, workflow_run_id=run_id)
    )


def test_queued_runs_start_in_queue_order_as_slots_free(services, clock):
    # Given a team limited to 1 run and a workflow whose runs wait for input (so they keep the slot)
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    first = submit(services, team_id, workflow_id)
    queued = []
    for _ in range(3):
        clock.advance(seconds=1)
        queued.append(submit(services, team_id, workflow_id))
    # Then the first started at once and the next three wait, with positions 1, 2, 3
    assert first.workflow_run.status.value == "started"
    assert [run.workflow_run.queue_position for run in queued] == [1, 2, 3]
    drain_worker(services)
    assert status_of(services, first.id) == "waiting_for_user_input"

    # When slots free one at a time, the runs start in the order they were queued
    admitted_order = []
    holder = first.id
    for _ in range(3):
        stop(services, team_id, holder)
        started = [run.id for run in queued if status_of(services, run.id) == "started"]
        assert len(started) == 1, "exactly one run takes the freed slot"
        holder = started[0]
        admitted_order.append(holder)
        drain_worker(services)
        assert status_of(services, holder) == "waiting_for_user_input"
    assert admitted_order == [run.id for run in queued]


def test_admitted_run_leaves_the_queue_fields_and_gets_a_heartbeat_deadline(services, clock):
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    first = submit(services, team_id, workflow_id)
    second = submit(services, team_id, workflow_id)
    clock.advance(seconds=5)
    stop(services, team_id, first.id)
    inner = stored_run(services, second.id).workflow_run
    assert inner.status.value == "started"
    assert inner.queued_at is None and inner.queue_deadline_at is None
    assert inner.heartbeat_at == clock.now()
    # REAPER_HEARTBEAT_TIMEOUT_SECONDS is 60 in this suite
    assert (inner.heartbeat_deadline_at - clock.now()).total_seconds() == 60


def test_a_full_workflow_is_skipped_and_later_runs_of_other_workflows_start(services, clock):
    # Given a team with 3 slots and a workflow capped at 1
    team_id = make_team(services, limit=3)
    capped = make_workflow(services, team_id, cap=1)
    other = make_workflow(services, team_id)
    # When two runs of the capped workflow and then one of another workflow are submitted
    capped_first = submit(services, team_id, capped)
    clock.advance(seconds=1)
    capped_second = submit(services, team_id, capped)
    clock.advance(seconds=1)
    other_run = submit(services, team_id, other)
    # Then the second capped run waits for its workflow while the later run of the other workflow starts
    assert status_of(services, capped_first.id) == "started"
    assert status_of(services, capped_second.id) == "not_started"
    assert status_of(services, other_run.id) == "started"
    # And when the capped workflow's slot frees, its queued run starts
    drain_worker(services)
    stop(services, team_id, capped_first.id)
    assert status_of(services, capped_second.id) == "started"


def test_team_limit_stops_the_queue_in_order(services, clock):
    # Given a full team (limit 1): a later run of another workflow must not overtake the queue head
    team_id = make_team(services, limit=1)
    workflow_a, workflow_b = make_workflow(services, team_id), make_workflow(services, team_id)
    holder = submit(services, team_id, workflow_a)
    clock.advance(seconds=1)
    head = submit(services, team_id, workflow_a)
    clock.advance(seconds=1)
    behind = submit(services, team_id, workflow_b)
    assert [status_of(services, run.id) for run in (holder, head, behind)] == ["started", "not_started", "not_started"]
    stop(services, team_id, holder.id)
    assert [status_of(services, run.id) for run in (head, behind)] == ["started", "not_started"]


def test_the_worker_runs_the_first_turn_of_an_admitted_run_once(services):
    team_id = make_team(services, limit=2)
    workflow_id = make_workflow(services, team_id)
    run = submit(services, team_id, workflow_id)
    assert run.workflow_run.status.value == "started"
    # The dispatcher queued exactly one work message; the worker executes it
    outcomes = drain_worker(services)
    assert [len(outcome.deleted) for outcome in outcomes] == [1]
    stored = stored_run(services, run.id).workflow_run
    assert stored.status.value == "waiting_for_user_input" and stored.turn_number == 1
    # A duplicate message for the same run changes nothing
    services.concurrency.work_queue.enqueue_run(run.id)
    drain_worker(services)
    assert stored_run(services, run.id).workflow_run.turn_number == 1


def test_concurrency_endpoint_shows_limit_holders_and_queue(services, clock):
    team_id = make_team(services, limit=2)
    caller = Caller(team_id=team_id, user_id="alice")
    capped = make_workflow(services, team_id, cap=1)
    other = make_workflow(services, team_id)
    first = submit(services, team_id, capped)
    clock.advance(seconds=1)
    queued_capped = submit(services, team_id, capped)
    clock.advance(seconds=1)
    second = submit(services, team_id, other)
    clock.advance(seconds=1)
    queued_other = submit(services, team_id, other)
    assert status_of(services, queued_capped.id) == status_of(services, queued_other.id) == "not_started"

    reply = call("get_concurrency", caller=caller)

    assert reply.status == 200, reply
    body = reply.body
    assert body["team_id"] == team_id and body["max_concurrent_runs"] == 2 and body["available_slots"] == 0
    assert [holder["run_id"] for holder in body["holders"]] == [first.id, second.id]
    assert body["holders"][0]["since"] == "2030-01-01T12:00:00Z"
    assert body["queue_length"] == 2
    workflows = {entry["workflow_id"]: entry for entry in body["workflows"]}
    assert workflows[capped] == {
        "workflow_id": capped,
        "max_concurrent_runs": 1,
        "holders": [{"run_id": first.id, "since": "2030-01-01T12:00:00Z"}],
        "queue_length": 1,
    }
    assert workflows[other]["max_concurrent_runs"] == 0
    assert [holder["run_id"] for holder in workflows[other]["holders"]] == [second.id]
    assert workflows[other]["queue_length"] == 1


def test_concurrency_endpoint_is_per_team(services):
    team_id = make_team(services, limit=2, name="A")
    other_team = make_team(services, limit=4, name="B")
    submit(services, team_id, make_workflow(services, team_id))
    reply = call("get_concurrency", caller=Caller(team_id=other_team, user_id="bob"))
    assert reply.status == 200
    assert reply.body == {
        "team_id": other_team,
        "max_concurrent_runs": 4,
        "holders": [],
        "available_slots": 4,
        "queue_length": 0,
        "workflows": [],
    }
    assert holders(services, f"team:{team_id}") != []


def test_a_capped_workflow_with_a_long_queue_does_not_starve_other_workflows(services, caller, clock):
    # Given a team limited to 5 (the caller's), workflow A capped at 1, and 30 runs of A submitted:
    # one holds A's slot, 29 wait for A, more than one page (25) of the team's queue
    team_id = caller.team_id
    workflow_a, workflow_b = make_workflow(services, team_id, cap=1), make_workflow(services, team_id)
    runs_of_a = []
    for _ in range(30):
        runs_of_a.append(submit(services, team_id, workflow_a))
        clock.advance(seconds=1)
    assert [status_of(services, run.id) for run in runs_of_a].count("started") == 1
    # When a run of B is submitted behind them, 4 team slots being free
    run_of_b = submit(services, team_id, workflow_b)
    # Then it starts at once, and A stays at its cap
    assert status_of(services, run_of_b.id) == "started"
    assert holders(services, f"team:{team_id}") == [runs_of_a[0].id, run_of_b.id]
    assert holders(services, f"workflow:{workflow_a}") == [runs_of_a[0].id]
    assert all(status_of(services, run.id) == "not_started" for run in runs_of_a[1:])
    # And a further dispatch finds nothing it may start
    assert services.concurrency.dispatcher.dispatch(team_id) == []


def test_runs_behind_a_full_workflow_start_in_queue_order_as_team_slots_free(services, caller, clock):
    # Given a team limited to 5, workflow A capped at 1, and a workflow H whose 4 runs fill the other slots
    team_id = caller.team_id
    workflow_a, filler = make_workflow(services, team_id, cap=1), make_workflow(services, team_id)
    workflow_b, workflow_c = make_workflow(services, team_id), make_workflow(services, team_id)
    fillers = [submit(services, team_id, filler) for _ in range(4)]
    runs_of_a = []
    for _ in range(30):
        clock.advance(seconds=1)
        runs_of_a.append(submit(services, team_id, workflow_a))
    # And, queued behind the 29 waiting runs of A, runs of B and C in the order B, C, B
    behind = []
    for workflow_id in (workflow_b, workflow_c, workflow_b):
        clock.advance(seconds=1)
        behind.append(submit(services, team_id, workflow_id))
    assert [run.workflow_run.queue_position for run in behind] == [30, 31, 32]
    assert [status_of(services, run.id) for run in behind] == ["not_started"] * 3

    # When team slots free one at a time, the runs of B and C start in the order they were queued
    admitted_order = []
    for freed in fillers[:3]:
        stop(services, team_id, freed.id)
        started = [run.id for run in behind if status_of(services, run.id) == "started"]
        assert len(started) == len(admitted_order) + 1, "exactly one run takes each freed slot"
        admitted_order.extend(run_id for run_id in started if run_id not in admitted_order)
    assert admitted_order == [run.id for run in behind]
    # And A never exceeds its cap
    assert holders(services, f"workflow:{workflow_a}") == [runs_of_a[0].id]
    assert all(status_of(services, run.id) == "not_started" for run in runs_of_a[1:])


def fill_capped_workflows(services, clock, team_id: str, workflows: int, queued_each: int) -> list[str]:
    """``workflows`` workflows capped at 1, each holding its slot with one run and ``queued_each`` more
    queued, one workflow's runs after the other's."""
    capped = [make_workflow(services, team_id, cap=1) for _ in range(workflows)]
    for workflow_id in capped:
        for _ in range(queued_each + 1):
            clock.advance(seconds=1)
            submit(services, team_id, workflow_id)
    return capped


def test_a_run_that_fits_is_not_held_back_by_the_queues_of_full_workflows(services, clock):
    # Given (defect 7) a team limited to 10, and 4 workflows capped at 1, each holding its slot and
    # with 25 runs queued behind, one workflow's runs after the other's: 100 queued runs, 6 free slots
    team_id = make_team(services, limit=10)
    capped = fill_capped_workflows(services, clock, team_id, workflows=4, queued_each=25)
    assert sum(services.runs.repository.queue_lengths(team_id).values()) == 100
    # When a run of a fifth workflow is queued last (its submission runs one dispatch pass)
    clock.advance(seconds=1)
    last = submit(services, team_id, make_workflow(services, team_id))
    # Then that pass admits it, and every capped workflow stays at its cap
    assert status_of(services, last.id) == "started"
    assert len(holders(services, f"team:{team_id}")) == 5
    assert all(len(holders(services, f"workflow:{workflow_id}")) == 1 for workflow_id in capped)


def test_the_round_trips_of_a_dispatch_pass_do_not_grow_with_queue_length(services, clock):
    def pass_round_trips(queued_each: int) -> dict[str, int]:
        # Given a full team: 3 capped workflows at their cap with this many runs queued each, one more
        # run holding the last slot, and a run of another workflow queued behind them all
        team_id = make_team(services, limit=4)
        fill_capped_workflows(services, clock, team_id, workflows=3, queued_each=queued_each)
        blocker_workflow = make_workflow(services, team_id)
        blocker = submit(services, team_id, blocker_workflow)
        waiting = submit(services, team_id, make_workflow(services, team_id))
        assert status_of(services, waiting.id) == "not_started"
        # When a slot frees and one dispatch pass runs
        blocker_token = services.runs.repository.get(None, blocker.id).workflow_run.lease_token
        services.concurrency.admission.release(team_id, blocker_workflow, blocker.id, blocker_token)
        counter = services.core.database.counter
        counter.reset()
        assert services.concurrency.dispatcher.dispatch(team_id) == [waiting.id]
        return dict(counter.calls)

    # Then it made the same store calls whether 2 or 20 runs of each full workflow wait
    assert pass_round_trips(2) == pass_round_trips(20)


def test_raising_a_workflows_cap_starts_its_queued_runs_at_once(services):
    # Given a workflow capped at 1 in a team with room: one run holds the cap, two more are queued
    team_id = make_team(services, limit=5)
    workflow_id = make_workflow(services, team_id, cap=1)
    first = submit(services, team_id, workflow_id)
    queued = [submit(services, team_id, workflow_id) for _ in range(2)]
    assert [status_of(services, run.id) for run in queued] == ["not_started", "not_started"]
    # When the cap is raised to 2 through the API
    reply = call(
        "set_workflow_concurrency",
        caller=Caller(team_id, "alice"),
        path={"workflow_id": workflow_id},
        body={"max_concurrent_runs": 2},
    )
    assert reply.status == 200, reply
    # Then the oldest queued run starts now (no reaper pass), and the cap still holds for the other
    assert [status_of(services, run.id) for run in queued] == ["started", "not_started"]
    assert sorted(holders(services, f"workflow:{workflow_id}")) == sorted([first.id, queued[0].id])


def one_slot_held_and_a_run_queued(services) -> tuple[str, str, WorkflowRunsModel, WorkflowRunsModel]:
    """A team limited to 1 whose slot a waiting run holds, and a run queued behind it: (team, workflow,
    holder, queued)."""
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    holder = submit(services, team_id, workflow_id)
    drain_worker(services)
    return team_id, workflow_id, holder, submit(services, team_id, workflow_id)


def test_a_run_whose_queue_ttl_passed_is_not_started_when_a_slot_frees(services, clock):
    # Given a team limited to 1 whose slot a waiting run holds, and a run queued behind it
    team_id, workflow_id, holder, expired = one_slot_held_and_a_run_queued(services)
    clock.advance(seconds=200)
    fresh = submit(services, team_id, workflow_id)
    assert status_of(services, expired.id) == status_of(services, fresh.id) == "not_started"
    # When the first one's queue TTL (300 s in this suite) passes and the slot frees before the reaper runs
    clock.advance(seconds=150)
    stop(services, team_id, holder.id)
    # Then the expired run is not started (the reaper ends it as queue_expired) and holds no slot
    assert status_of(services, expired.id) == "not_started"
    assert expired.id not in holders(services, f"team:{team_id}")
    # And the reaper ends it, and the run behind it starts
    summary = services.reaper.service.reap()
    assert summary["queue_expired"] == 1
    assert status_of(services, expired.id) == "failed"
    assert status_of(services, fresh.id) == "started"


def test_a_run_that_expires_between_the_dispatchers_read_and_its_start_is_not_started(services, clock, monkeypatch):
    # Given a team limited to 1 whose slot a waiting run holds, and a run queued behind it past its TTL
    team_id, _, holder, expired = one_slot_held_and_a_run_queued(services)
    clock.advance(seconds=400)
    # When a dispatcher that read it as still within its TTL (the TTL passed since) tries to start it
    monkeypatch.setattr("workflow_service.concurrency.dispatcher._queue_ttl_passed", lambda run, now: False)
    stop(services, team_id, holder.id)
    # Then the start write refuses it, and the slot it took for it is given back
    assert status_of(services, expired.id) == "not_started"
    assert holders(services, f"team:{team_id}") == []
