"""The stale-run reaper over the real runs service, leases and store (thresholds in seconds, see helpers)."""

from __future__ import annotations

import reaper as reaper_lambda
from bson import ObjectId

from local.lambda_runtime import LocalLambdaContext
from local.reaper_emulation import create_local_reaper_component
from tests.integration.concurrency.helpers import (
    drain_worker,
    holders,
    make_team,
    make_workflow,
    status_of,
    stored_run,
    submit,
)
from workflow_service.adapters.mongo.leases import MongoLeaseStore
from workflow_service.models.concurrency import HoldResult
from workflow_service.models.runs import RunStatus, TerminationSource
from workflow_service.reaper.service import StaleRunReaper
from workflow_service.settings.concurrency import ReaperSettings

REAPED_COUNTS = ("queue_expired", "heartbeat_expired", "input_expired", "leases_reconciled")


def counts(summary: dict) -> dict:
    return {key: summary[key] for key in REAPED_COUNTS}


def nothing_done(summary: dict) -> bool:
    return all(summary[key] == 0 for key in (*REAPED_COUNTS, "already_handled", "errors", "runs_dispatched"))


def failed_by_reaper(services, run_id: str) -> str:
    """The reason of a run the reaper failed (asserting it was the reaper)."""
    inner = stored_run(services, run_id).workflow_run
    assert inner.status is RunStatus.FAILED
    assert inner.termination_source == "stale_run_reaper"
    assert inner.finished_at is not None
    return inner.error


def test_a_started_run_without_heartbeat_is_failed_and_its_slot_freed(services, clock):
    # Given a run admitted at 12:00 whose worker never ran it
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    run = submit(services, team_id, workflow_id)
    # When the run timeout (60 s) passes
    clock.advance(seconds=61)
    summary = services.reaper.service.reap()
    # Then it is failed by the reaper, saying when it last showed life, and holds no slot
    assert counts(summary) == {"queue_expired": 0, "heartbeat_expired": 1, "input_expired": 0, "leases_reconciled": 0}
    assert failed_by_reaper(services, run.id) == (
        "no heartbeat since 2030-01-01T12:00:00Z: exceeded the run timeout (deadline 2030-01-01T12:01:00Z)"
    )
    assert holders(services, f"team:{team_id}") == [] and holders(services, f"workflow:{workflow_id}") == []


def test_a_running_turn_whose_executor_died_is_failed(services, clock):
    team_id = make_team(services, limit=1)
    run = submit(services, team_id, make_workflow(services, team_id))
    # A worker claimed the turn (status running) and then its container died
    now = clock.now()
    claimed = services.runs.repository.claim_turn(None, run.id, ["started"], now, clock.advance(seconds=60))
    assert claimed is not None and status_of(services, run.id) == "running"
    clock.advance(seconds=1)
    summary = services.reaper.service.reap()
    assert summary["heartbeat_expired"] == 1
    assert failed_by_reaper(services, run.id).startswith("no heartbeat since 2030-01-01T12:00:00Z")
    # A late commit from the dead executor is refused: its claim is gone
    claim = claimed[0]
    assert services.runs.repository.commit_turn(claim, {"status": "completed"}, {}, None) is None


def test_a_run_waiting_for_input_past_its_deadline_is_failed(services, clock):
    team_id = make_team(services, limit=1)
    run = submit(services, team_id, make_workflow(services, team_id))
    drain_worker(services)
    assert status_of(services, run.id) == "waiting_for_user_input"
    clock.advance(seconds=599)
    assert services.reaper.service.reap()["input_expired"] == 0
    clock.advance(seconds=2)
    summary = services.reaper.service.reap()
    assert summary["input_expired"] == 1
    assert failed_by_reaper(services, run.id) == (
        "waited for user input longer than the input timeout (deadline 2030-01-01T12:10:00Z)"
    )
    assert holders(services, f"team:{team_id}") == []


def test_a_run_queued_past_its_ttl_is_failed_and_the_slot_holder_is_untouched(services, clock):
    # Given a team limit of 1 held by a run waiting for input, and a run queued behind it
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    holder = submit(services, team_id, workflow_id)
    drain_worker(services)
    clock.advance(seconds=10)
    queued = submit(services, team_id, workflow_id)
    # When the queue TTL (300 s) passes for the queued run
    clock.advance(seconds=301)
    summary = services.reaper.service.reap()
    # Then only the queued run is failed, with the queue reason
    assert counts(summary) == {"queue_expired": 1, "heartbeat_expired": 0, "input_expired": 0, "leases_reconciled": 0}
    assert failed_by_reaper(services, queued.id) == (
        "queued longer than the queue TTL: waiting for a concurrency slot since 2030-01-01T12:00:10Z "
        "(deadline 2030-01-01T12:05:10Z)"
    )
    assert status_of(services, holder.id) == "waiting_for_user_input"
    assert holders(services, f"team:{team_id}") == [holder.id]


def test_reaping_a_slot_holder_starts_the_next_queued_run(services, clock):
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    hung = submit(services, team_id, workflow_id)
    clock.advance(seconds=1)
    waiting = submit(services, team_id, workflow_id)
    assert status_of(services, waiting.id) == "not_started"
    clock.advance(seconds=60)
    services.reaper.service.reap()
    assert status_of(services, hung.id) == "failed"
    assert status_of(services, waiting.id) == "started"
    assert holders(services, f"team:{team_id}") == [waiting.id]


def test_a_second_pass_changes_nothing(services, clock):
    team_id = make_team(services, limit=2)
    workflow_id = make_workflow(services, team_id)
    hung = submit(services, team_id, workflow_id)
    waiting = submit(services, team_id, workflow_id)
    drain_worker(services)  # both wait for input; now make one of them hang with a dead claim
    services.runs.repository.claim_turn(None, hung.id, ["waiting_for_user_input"], clock.now(), clock.now())
    clock.advance(seconds=601)
    first = services.reaper.service.reap()
    assert first["heartbeat_expired"] == 1 and first["input_expired"] == 1
    before = list(services.core.database.raw["workflow_runs"].find({}, sort=[("_id", 1)]))
    second = services.reaper.service.reap()
    assert nothing_done(second), second
    assert list(services.core.database.raw["workflow_runs"].find({}, sort=[("_id", 1)])) == before
    assert {failed_by_reaper(services, run.id)[:10] for run in (hung, waiting)} == {"no heartbe", "waited for"}


def test_leases_of_missing_and_terminal_runs_are_reconciled_and_the_queue_moves(services, clock):
    # Given a team limit of 2 whose slots leaked: one to a run id that was never inserted (a crash
    # between lease and insert), one to a run that ended without releasing (a crash in finalize)
    team_id = make_team(services, limit=2)
    workflow_id = make_workflow(services, team_id)
    ghost = str(ObjectId())
    assert services.concurrency.admission.try_acquire(team_id, workflow_id, ghost).granted
    ended = submit(services, team_id, workflow_id)
    services.runs.repository.change_status(None, ended.id, ["started"], {"status": "cancelled"})
    queued = submit(services, team_id, workflow_id)
    assert status_of(services, queued.id) == "not_started"
    # When a pass runs within the grace period (30 s), nothing is touched: the owner may still be working
    assert services.reaper.service.reap()["leases_reconciled"] == 0
    assert sorted(holders(services, f"team:{team_id}")) == sorted([ghost, ended.id])
    # And after it, both leaked holders are removed from the team and workflow leases
    clock.advance(seconds=31)
    summary = services.reaper.service.reap()
    assert summary["leases_reconciled"] == 4
    # And the queued run gets a freed slot
    assert status_of(services, queued.id) == "started"
    assert holders(services, f"team:{team_id}") == [queued.id]
    # And the next pass finds nothing more to do
    assert nothing_done(services.reaper.service.reap())


def crash_after_taking_the_slot_of(services, team_id, workflow_id, holder, queued) -> None:
    """The holder ends and releases; the dispatcher that then took the queued run's slot dies before
    marking it started."""
    cancelled = services.runs.repository.change_status(None, holder.id, ["started"], {"status": "cancelled"})
    services.concurrency.admission.release(team_id, workflow_id, holder.id, cancelled.workflow_run.lease_token)
    assert services.concurrency.admission.try_acquire(team_id, workflow_id, queued.id).granted


def test_crash_between_lease_and_run_start_is_healed_by_the_reaper_in_queue_order(services, clock):
    # Given a team limit of 1, a holder H and queued runs Q then L
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    holder = submit(services, team_id, workflow_id)
    clock.advance(seconds=1)
    queued = submit(services, team_id, workflow_id)
    clock.advance(seconds=1)
    later = submit(services, team_id, workflow_id)
    # When H ends and Q's dispatcher dies between Q's lease and Q's start
    crash_after_taking_the_slot_of(services, team_id, workflow_id, holder, queued)
    assert [status_of(services, run.id) for run in (queued, later)] == ["not_started", "not_started"]
    # Then, after the grace period, the reaper frees the orphaned slot and Q, the queue's head, starts
    clock.advance(seconds=31)
    summary = services.reaper.service.reap()
    assert summary["leases_reconciled"] == 2  # Q's entries in the team and the workflow lease
    assert [status_of(services, run.id) for run in (queued, later)] == ["started", "not_started"]
    assert holders(services, f"team:{team_id}") == [queued.id]


def test_crash_between_lease_and_run_start_is_healed_by_the_next_dispatch(services, clock):
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    holder = submit(services, team_id, workflow_id)
    clock.advance(seconds=1)
    queued = submit(services, team_id, workflow_id)
    crash_after_taking_the_slot_of(services, team_id, workflow_id, holder, queued)
    # Any later dispatch (here: a new submission) re-grants Q its own slot and starts it first
    clock.advance(seconds=1)
    later = submit(services, team_id, workflow_id)
    assert [status_of(services, run.id) for run in (queued, later)] == ["started", "not_started"]
    assert holders(services, f"team:{team_id}") == [queued.id]


def test_the_sweep_starts_queued_runs_a_lost_dispatch_left_behind(services, clock):
    # Given a slot freed (released) by a process that died before dispatching the queue
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    holder = submit(services, team_id, workflow_id)
    queued = submit(services, team_id, workflow_id)
    cancelled = services.runs.repository.change_status(None, holder.id, ["started"], {"status": "cancelled"})
    services.concurrency.admission.release(team_id, workflow_id, holder.id, cancelled.workflow_run.lease_token)
    assert status_of(services, queued.id) == "not_started"
    # When the reaper passes (no deadline has passed)
    summary = services.reaper.service.reap()
    # Then the queued run starts
    assert summary["runs_dispatched"] == 1
    assert status_of(services, queued.id) == "started"


def test_each_pass_is_bounded_and_the_rest_is_left_for_the_next(services, clock):
    team_id = make_team(services, limit=5)
    workflow_id = make_workflow(services, team_id)
    runs = [submit(services, team_id, workflow_id) for _ in range(5)]
    clock.advance(seconds=61)
    bounded = StaleRunReaper(
        services.runs.repository,
        services.runs.lifecycle,
        MongoLeaseStore(services.core.database),
        services.concurrency.dispatcher,
        services.runs.repository,
        services.core.clock,
        ReaperSettings(batch_size=2, max_batches=2, lease_grace_seconds=30),
    )
    first = bounded.reap()
    assert first["heartbeat_expired"] == 4 and first["complete"] is False
    second = bounded.reap()
    assert second["heartbeat_expired"] == 1 and second["complete"] is True
    assert all(status_of(services, run.id) == "failed" for run in runs)


def test_pass_cost_depends_on_stale_runs_not_on_all_runs(services, clock):
    def pass_round_trips(healthy_runs: int, finished_runs: int) -> int:
        team_id = make_team(services, limit=100)
        workflow_id = make_workflow(services, team_id)
        healthy = [submit(services, team_id, workflow_id) for _ in range(healthy_runs + finished_runs)]
        drain_worker(services)  # healthy: waiting for input within their deadline
        for run in healthy[:finished_runs]:
            services.runs.lifecycle.fail_run(
                run.id, "finished", TerminationSource.EXECUTION_ERROR, ["waiting_for_user_input"], team_id=team_id
            )
        services.reaper.service.reap()
        stale_team = make_team(services, limit=100)
        stale_workflow = make_workflow(services, stale_team)
        for _ in range(3):
            submit(services, stale_team, stale_workflow)
        clock.advance(seconds=61)
        summary = services.reaper.service.reap()
        assert summary["heartbeat_expired"] == 3
        return summary["round_trips"]

    few = pass_round_trips(healthy_runs=2, finished_runs=0)
    many = pass_round_trips(healthy_runs=40, finished_runs=40)
    assert few == many


def test_the_lambda_handler_and_the_local_timer_run_a_pass(services, clock):
    team_id = make_team(services, limit=1)
    run = submit(services, team_id, make_workflow(services, team_id))
    clock.advance(seconds=61)
    summary = reaper_lambda.handler({"source": "aws.events"}, LocalLambdaContext("reaper", timeout_seconds=60))
    assert summary["heartbeat_expired"] == 1 and summary["round_trips"] > 0
    assert status_of(services, run.id) == "failed"

    class Runtime:
        settings = services.settings

    component = create_local_reaper_component(Runtime())
    assert component.interval_seconds == services.settings.reaper.local_interval_seconds
    assert nothing_done(component.run_once())


def test_a_lambda_about_to_time_out_stops_starting_batches(services, clock):
    team_id = make_team(services, limit=1)
    run = submit(services, team_id, make_workflow(services, team_id))
    clock.advance(seconds=61)
    summary = reaper_lambda.handler({}, LocalLambdaContext("reaper", timeout_seconds=5))
    assert summary["complete"] is False and summary["heartbeat_expired"] == 0
    assert status_of(services, run.id) == "started"


def test_when_many_teams_queue_each_pass_sweeps_a_varying_subset(services):
    # Given 5 teams with a queued run each and a sweep of at most 3 teams per pass
    teams = set()
    for number in range(5):
        team_id = make_team(services, limit=1, name=f"T{number}")
        workflow_id = make_workflow(services, team_id)
        submit(services, team_id, workflow_id)
        submit(services, team_id, workflow_id)  # queued behind the first
        teams.add(team_id)
    finder = services.runs.repository
    assert set(finder.queued_team_ids(10)) == teams
    # Then each call names 3 distinct teams, and successive calls reach every team
    # (the chance that 60 random draws of 3 out of 5 miss a given team is (2/5)**60)
    seen = set()
    for _ in range(60):
        subset = finder.queued_team_ids(3)
        assert len(set(subset)) == 3 and set(subset) <= teams
        seen.update(subset)
    assert seen == teams


# -- lease reconciliation both ways ------------------------------------------------------------------


def lease_document(services, key: str) -> dict:
    return services.core.database.raw["concurrency_leases"].find_one({"_id": key}) or {}


def waiting_run(services, team_id: str, workflow_id: str):
    run = submit(services, team_id, workflow_id)
    drain_worker(services)
    assert status_of(services, run.id) == "waiting_for_user_input"
    return stored_run(services, run.id)


def test_a_holder_whose_run_recorded_another_token_keeps_its_slot_under_the_runs_token(services, clock):
    # Given a run holding the team's only slot, whose lease entries carry a token the run did not record
    # (two grants of the same run raced and the later one overwrote the token)
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    run = waiting_run(services, team_id, workflow_id)
    leases = services.core.database.raw["concurrency_leases"]
    leases.update_many({"holders": run.id}, {"$set": {f"tokens.{run.id}": "overwritten"}})
    # When a pass runs after the grace period
    clock.advance(seconds=31)
    summary = services.reaper.service.reap()
    # Then the entries are not dropped (a live run uses them) but re-aligned with the run's token
    assert summary["leases_reconciled"] == 2 and summary["leases_restored"] == 0
    for key in (f"team:{team_id}", f"workflow:{workflow_id}"):
        assert lease_document(services, key)["holders"] == [run.id]
        assert lease_document(services, key)["tokens"][run.id] == run.workflow_run.lease_token
    # And the run's own release (a stop) now frees them
    services.runs.lifecycle.stop(team_id, run.id)
    assert holders(services, f"team:{team_id}") == [] and holders(services, f"workflow:{workflow_id}") == []


def test_a_slot_holding_run_without_its_lease_gets_it_back_with_its_token(services, clock):
    # Given a run waiting for input whose lease entries were lost (as defect 1 used to lose them)
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    run = waiting_run(services, team_id, workflow_id)
    services.core.database.raw["concurrency_leases"].update_many({}, {"$pull": {"holders": run.id}})
    # When a pass runs within the grace period, nothing is restored (a resume may be between its writes)
    assert services.reaper.service.reap()["leases_restored"] == 0
    # And after it, the run gets both entries back, with the token it recorded
    clock.advance(seconds=31)
    summary = services.reaper.service.reap()
    assert summary["leases_restored"] == 1 and summary["slotless_runs_failed"] == 0
    for key in (f"team:{team_id}", f"workflow:{workflow_id}"):
        assert lease_document(services, key)["holders"] == [run.id]
        assert lease_document(services, key)["tokens"][run.id] == run.workflow_run.lease_token
    # And the team's limit applies again: a new submission queues
    assert status_of(services, submit(services, team_id, workflow_id).id) == "not_started"
    # And the next pass has nothing to do
    assert nothing_done(services.reaper.service.reap())


def test_repairing_never_goes_above_the_limit_a_run_whose_slot_was_taken_is_failed(services, clock):
    # Given a team limit of 1: run A waits for input but lost its lease entries, and run B has since
    # been admitted into the slot that looked free
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    lost = waiting_run(services, team_id, workflow_id)
    services.core.database.raw["concurrency_leases"].update_many({}, {"$pull": {"holders": lost.id}})
    taker = waiting_run(services, team_id, workflow_id)
    assert holders(services, f"team:{team_id}") == [taker.id]
    # When a pass runs after the grace period
    clock.advance(seconds=31)
    summary = services.reaper.service.reap()
    # Then A is not given a slot above the limit: it is failed with the reason, and B keeps the slot
    assert summary["leases_restored"] == 0 and summary["slotless_runs_failed"] == 1
    assert "lost its concurrency slot" in failed_by_reaper(services, lost.id)
    assert holders(services, f"team:{team_id}") == [taker.id]
    assert holders(services, f"workflow:{workflow_id}") == [taker.id]
    assert status_of(services, taker.id) == "waiting_for_user_input"


def test_a_restore_refused_only_because_the_lease_was_contended_is_tried_again_not_failed(services, clock, monkeypatch):
    # Given a run waiting for input that lost its lease entries, in a team with room for it
    team_id = make_team(services, limit=2)
    workflow_id = make_workflow(services, team_id)
    run = waiting_run(services, team_id, workflow_id)
    services.core.database.raw["concurrency_leases"].update_many({}, {"$pull": {"holders": run.id}})
    clock.advance(seconds=31)
    # When the pass's hold is refused although the lease is not full (contended past its retries)
    store = services.concurrency.lease_store
    real_try_hold = store.try_hold
    monkeypatch.setattr(store, "try_hold", lambda *args, **kwargs: HoldResult(granted=False, holders=()))
    summary = services.reaper.service.reap()
    # Then the run is not failed for a slot it could have had
    assert summary["slotless_runs_failed"] == 0
    assert status_of(services, run.id) == "waiting_for_user_input"
    # And the next pass gives it its slot back
    monkeypatch.setattr(store, "try_hold", real_try_hold)
    assert services.reaper.service.reap()["leases_restored"] == 1
    assert holders(services, f"team:{team_id}") == [run.id]


def test_a_holder_whose_run_is_paused_is_dropped_after_the_grace_period(services, clock):
    # Given a paused run whose pause crashed before releasing (its entries stay, with its token)
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    run = waiting_run(services, team_id, workflow_id)
    services.runs.repository.change_status(None, run.id, ["waiting_for_user_input"], {"status": "paused"})
    # When a pass runs after the grace period
    clock.advance(seconds=31)
    summary = services.reaper.service.reap()
    # Then its entries are dropped, conditional on the token seen
    assert summary["leases_reconciled"] == 2
    assert holders(services, f"team:{team_id}") == [] and holders(services, f"workflow:{workflow_id}") == []


def test_an_admitted_run_the_work_queue_refused_is_handed_to_a_worker_by_the_reaper(services, clock, monkeypatch):
    # Given a run admitted at 12:00 whose work message the queue refused (SQS throttled)
    from workflow_service.errors import UpstreamUnavailable

    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    queue = services.concurrency.work_queue

    def refuse(run_id: str) -> None:
        raise UpstreamUnavailable("SQS throttled the send")

    monkeypatch.setattr(queue, "enqueue_run", refuse)
    run = submit(services, team_id, workflow_id)
    monkeypatch.undo()
    assert status_of(services, run.id) == "started" and drain_worker(services) == []
    # When the reaper passes inside the grace period (30 s), then after it
    clock.advance(seconds=20)
    assert services.reaper.service.reap()["runs_handed_to_worker"] == 0
    clock.advance(seconds=11)
    assert services.reaper.service.reap()["runs_handed_to_worker"] == 1
    # Then a worker runs its first turn (it waits for its user), well before its heartbeat deadline
    drain_worker(services)
    assert status_of(services, run.id) == "waiting_for_user_input"
    assert services.reaper.service.reap()["runs_handed_to_worker"] == 0
