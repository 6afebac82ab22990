"""Two dispatchers on one queue head: the one whose workflow hold is refused leaves the team entry the other
is about to start the run on (it re-granted that entry; it did not take it)."""

from __future__ import annotations

import threading

from tests.integration.concurrency.helpers import drain_worker, holders, make_team, make_workflow, status_of, submit
from tests.support.api import Caller
from workflow_service.concurrency.dispatcher import FifoDispatcher
from workflow_service.concurrency.leases import LeaseAdmission
from workflow_service.models.concurrency import LeaseScope
from workflow_service.models.runs import RunCommand, WorkflowRunInput

SLOT_HOLDING = {"started", "running", "waiting_for_user_input"}


def capped_workflow_full_with_a_run_queued(services, clock):
    """A team limited to 2, a workflow W capped at 1 whose run R holds W's slot, Q of W queued, and an
    uncapped workflow: (team, W, the uncapped one, R, Q)."""
    team_id = make_team(services, limit=2)
    capped = make_workflow(services, team_id, cap=1)
    other = make_workflow(services, team_id)
    r = submit(services, team_id, capped)
    drain_worker(services)
    assert status_of(services, r.id) == "waiting_for_user_input"
    clock.advance(seconds=1)
    q = submit(services, team_id, capped)
    assert status_of(services, q.id) == "not_started"
    return team_id, capped, other, r, q


def _race(services, clock, monkeypatch):
    # Given a team limited to 2, a workflow W capped at 1 whose run R holds W's slot, and Q of W queued
    team_id, _, other, r, q = capped_workflow_full_with_a_run_queued(services, clock)

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


def test_a_run_that_fits_is_not_left_queued_beside_a_free_slot(services, clock, monkeypatch):
    # Given a team limited to 2, workflow W capped at 1 and held by R, and Q of W queued
    team_id, _, other, r, q = capped_workflow_full_with_a_run_queued(services, clock)

    # D1: a dispatch (e.g. after another workflow's run paused) that read the queue before P existed
    concurrency = services.concurrency
    snapshot = concurrency.dispatcher._queue_heads(team_id)
    in_workflow_read, resume_d1 = threading.Event(), threading.Event()

    class BlockingLimits:
        def team_limit(self, team):
            return concurrency.limits.team_limit(team)

        def workflow_limits(self, team, ids):
            in_workflow_read.set()  # D1 holds Q's team entry now, and reads W's cap
            resume_d1.wait(5)
            return concurrency.limits.workflow_limits(team, ids)

    d1_admission = LeaseAdmission(concurrency.lease_store, BlockingLimits(), clock, default_team_limit=10)
    d1 = FifoDispatcher(services.runs.repository, d1_admission, concurrency.work_queue, clock, run_timeout_seconds=60)
    # D1's first read of the queue is the stale one; any later read is fresh
    stale, fresh = [list(snapshot)], d1._queue_heads
    monkeypatch.setattr(d1, "_queue_heads", lambda team, **options: stale.pop() if stale else fresh(team, **options))
    d1_thread = threading.Thread(target=d1.dispatch, args=(team_id,))

    store = concurrency.lease_store
    real_try_hold = store.try_hold

    def try_hold(scope, owner_id, team, run_id, *args, **kwargs):
        # D2 (P's own submission) has dealt with Q (W full: team entry given back); before it asks for P's
        # team slot, D1 takes Q's team entry
        on_main = threading.current_thread() is threading.main_thread()
        d1_not_started = not d1_thread.is_alive() and not in_workflow_read.is_set()
        if scope is LeaseScope.TEAM and on_main and run_id != q.id and d1_not_started:
            d1_thread.start()
            assert in_workflow_read.wait(5)
        return real_try_hold(scope, owner_id, team, run_id, *args, **kwargs)

    monkeypatch.setattr(store, "try_hold", try_hold)
    p = submit(services, team_id, other)  # P: its dispatch D2 is refused by the team (D1's transient hold)
    resume_d1.set()
    d1_thread.join(5)
    monkeypatch.setattr(store, "try_hold", real_try_hold)

    # Then P, which fits (an uncapped workflow, a free team slot), did not stay queued beside the free slot
    assert status_of(services, p.id) != "not_started", "P fits but stays queued"
    assert sorted(holders(services, f"team:{team_id}")) == sorted([r.id, p.id])
