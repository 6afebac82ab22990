"""Two dispatchers on one queue head: the one whose workflow hold is refused leaves the team entry the other
is about to start the run on (it re-granted that entry; it did not take it)."""

from __future__ import annotations

from tests.integration.concurrency.helpers import drain_worker, holders, make_team, make_workflow, status_of, submit
from tests.support.api import Caller
from workflow_service.models.runs import RunCommand, WorkflowRunInput

SLOT_HOLDING = {"started", "running", "waiting_for_user_input"}


def _race(services, clock, monkeypatch):
    # Given a team limited to 2, a workflow W capped at 1 whose run R holds W's slot, and Q of W queued
    team_id = make_team(services, limit=2)
    capped = make_workflow(services, team_id, cap=1)
    other = make_workflow(services, team_id)
    r = submit(services, team_id, capped)
    drain_worker(services)
    assert status_of(services, r.id) == "waiting_for_user_input"
    clock.advance(seconds=1)
    q = submit(services, team_id, capped)
    assert status_of(services, q.id) == "not_started"

    dispatcher = services.concurrency.dispatcher
    limits = services.concurrency.limits
    real_limits, real_dispatch = limits.workflow_limits, dispatcher.dispatch
    deferred: list[str] = []
    armed = [True]

    def interleave(team, workflow_ids):
        # Dispatcher D2 has just taken Q's TEAM entry and reads W's cap before its WORKFLOW hold. Meanwhile:
        if armed[0]:
            armed[0] = False
            # D1 (another Lambda, same head Q) re-grants Q's team entry under its token; W is full, so D1 gives up
            real_dispatch(team_id)
            # R is stopped; its finalize's dispatch (another Lambda) reads the queue only after D2 is done
            monkeypatch.setattr(dispatcher, "dispatch", lambda t, **k: deferred.append(t) or [])
            services.runs.submission.start_or_resume(
                Caller(team_id, "alice"), WorkflowRunInput(command=RunCommand.STOP, workflow_run_id=r.id)
            )
            monkeypatch.setattr(dispatcher, "dispatch", real_dispatch)
        return real_limits(team, workflow_ids)

    monkeypatch.setattr(limits, "workflow_limits", interleave)
    real_dispatch(team_id)  # D2
    monkeypatch.setattr(limits, "workflow_limits", real_limits)
    for team in deferred:
        real_dispatch(team)

    assert status_of(services, q.id) == "started"
    return team_id, other, q


def test_two_dispatchers_on_one_head_never_start_a_run_without_its_team_slot(services, clock, monkeypatch):
    # When two dispatchers race on one head and the one refused by the workflow gives up
    team_id, other, q = _race(services, clock, monkeypatch)
    # Then the started run keeps its team slot, and more runs of another workflow do not exceed the limit
    extra = [submit(services, team_id, other) for _ in range(2)]
    live = [run_id for run_id in [q.id, *(run.id for run in extra)] if status_of(services, run_id) in SLOT_HOLDING]
    team_holders = holders(services, f"team:{team_id}")
    assert len(live) <= 2, f"team limit 2 exceeded: {len(live)} slot-holding runs"
    assert q.id in team_holders, "Q was started but holds no team slot"


def test_after_two_dispatchers_raced_the_reaper_leaves_the_started_run_alone(services, clock, monkeypatch):
    # Given the race, the run it started waiting for input, and the team's other slot taken
    team_id, other, q = _race(services, clock, monkeypatch)
    drain_worker(services)  # Q runs its first turn and waits for input: healthy
    assert status_of(services, q.id) == "waiting_for_user_input"
    extra = [submit(services, team_id, other) for _ in range(2)]
    drain_worker(services)
    # Then the team's one other slot went to one of them; the other waits in the queue
    assert sorted(status_of(services, run.id) for run in extra) == ["not_started", "waiting_for_user_input"]
    # When the reaper reconciles past the lease grace period
    clock.advance(seconds=120)
    services.reaper.service.reap()
    # Then the run the race started is left alone
    assert status_of(services, q.id) == "waiting_for_user_input", "the reaper ended a healthy run"
