"""Races on a run's slot, each reproduced deterministically: the racing operation runs inside a hook
placed between two writes of the first one (issue 10, defects 1-3), over the real services and store."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.http import FakeHttp, json_response
from tests.integration.concurrency.helpers import (
    drain_worker,
    holders,
    make_team,
    make_workflow,
    status_of,
    stored_run,
    submit,
)
from tests.support.api import Caller
from tests.support.workflows import user_message, weather_workflow
from workflow_service.concurrency.dispatcher import FifoDispatcher
from workflow_service.errors import Conflict, NoSlotAvailable
from workflow_service.models.runs import RunCommand, RunStatus, WorkflowRunInput

WEATHER = "http://weather.test"
FORECAST_URL = f"{WEATHER}/weather?city=Paris"


def start_interactive(services: Any, team_id: str, workflow_id: str, **run_input: Any) -> str:
    """A first turn through the execute API's use case; the run then waits for the user, holding its slot."""
    reply = services.runs.turns.execute(
        Caller(team_id, "alice"), workflow_id, WorkflowRunInput.model_validate(run_input), None, None
    )
    assert reply.status is RunStatus.WAITING_FOR_USER_INPUT
    return reply.run_id


def resume(services: Any, team_id: str, run_id: str, message: str | None = None) -> Any:
    fields: dict[str, Any] = {"command": RunCommand.RESUME}
    if message is not None:
        fields["thread_to_node_inputs"] = user_message(message)
    return services.runs.turn_runner.apply(team_id, run_id, WorkflowRunInput.model_validate(fields))


def run_once_before(target: Any, method: str, racing: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next call of ``target.method`` run ``racing()`` first (the racing request lands there)."""
    original = getattr(target, method)

    def hooked(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(target, method, original)
        racing()
        return original(*args, **kwargs)

    monkeypatch.setattr(target, method, hooked)


def slot_holders(services: Any, team_id: str, workflow_id: str) -> tuple[list[str], list[str]]:
    return holders(services, f"team:{team_id}"), holders(services, f"workflow:{workflow_id}")


def test_a_pause_overlapping_a_resume_keeps_the_resumed_runs_lease(services, monkeypatch):
    # Given a team limit of 1 held by a run waiting for input
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    run_id = start_interactive(services, team_id, workflow_id)
    # When the run is paused, and a resume claims and re-acquires it between the pause's status write
    # and its release
    run_once_before(services.concurrency.admission, "release", lambda: resume(services, team_id, run_id), monkeypatch)
    services.runs.lifecycle.pause(team_id, run_id)
    # Then the resumed run (waiting again) still holds its slot in both leases
    assert status_of(services, run_id) == "waiting_for_user_input"
    assert slot_holders(services, team_id, workflow_id) == ([run_id], [run_id])
    # And the team's limit holds: no second run is admitted
    with pytest.raises(NoSlotAvailable):
        start_interactive(services, team_id, workflow_id)


class _StaleQueue:
    """The run repository, except that the dispatcher's next queue read returns a run read earlier
    (as the head of its workflow's queue), then an empty queue."""

    def __init__(self, runs: Any, stale_head: Any) -> None:
        self._runs = runs
        self._stale_head = stale_head

    def queued_workflow_ids(self, team_id: str) -> list[str]:
        return [self._stale_head.workflow_run.workflow_id] if self._stale_head is not None else []

    def queue_head(self, team_id: str, workflow_id: str) -> Any:
        head, self._stale_head = self._stale_head, None
        return head

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runs, name)


def test_a_dispatcher_that_lost_a_start_never_releases_a_lease_a_resume_took(services, monkeypatch):
    # Given a dispatcher that read a page while run R was still queued; since then R was started by
    # another dispatcher, ran to waiting for input, and was paused (releasing its slot)
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    run = submit(services, team_id, workflow_id)
    stale = run.model_copy(deep=True)
    stale.workflow_run.status = RunStatus.NOT_STARTED
    drain_worker(services)
    services.runs.lifecycle.pause(team_id, run.id)
    assert slot_holders(services, team_id, workflow_id) == ([], [])
    admission = services.concurrency.admission
    late = FifoDispatcher(
        _StaleQueue(services.runs.repository, stale),
        admission,
        services.concurrency.work_queue,
        services.core.clock,
        run_timeout_seconds=60,
    )
    # When that dispatcher acquires R (a grant to a paused run), loses the start, reads "paused", and a
    # resume claims and re-acquires R before the dispatcher gives its acquisition back
    run_once_before(admission, "release", lambda: resume(services, team_id, run.id), monkeypatch)
    assert late.dispatch(team_id) == []
    # Then the resumed run keeps the slot the resume took
    assert status_of(services, run.id) == "waiting_for_user_input"
    assert slot_holders(services, team_id, workflow_id) == ([run.id], [run.id])
    assert stored_run(services, run.id).workflow_run.lease_token
    # And the limit holds: a new submission queues instead of starting
    assert status_of(services, submit(services, team_id, workflow_id).id) == "not_started"


def test_a_stop_between_a_resumes_claim_and_its_acquire_frees_the_slot_and_runs_nothing(services, monkeypatch):
    # Given a paused run whose next turn, on "yes", fetches the weather over HTTP
    http = FakeHttp().route("GET", FORECAST_URL, json_response(200, b'{"forecast": "sunny"}'))
    services.runs.__dict__["http_client"] = http  # before the engine is built
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id, config=weather_workflow(WEATHER))
    run_id = start_interactive(services, team_id, workflow_id, dynamic_variables={"name": "Ann", "city": "Paris"})
    services.runs.lifecycle.pause(team_id, run_id)
    # When the user stops the run after the resume claimed its turn and before it took the slot
    run_once_before(
        services.concurrency.admission,
        "try_acquire",
        lambda: services.runs.lifecycle.stop(team_id, run_id),
        monkeypatch,
    )
    with pytest.raises(Conflict, match="cancelled"):
        resume(services, team_id, run_id, "yes")
    # Then the turn executed nothing, the run stays cancelled, and no slot is held
    assert http.requests == []
    assert status_of(services, run_id) == "cancelled"
    assert slot_holders(services, team_id, workflow_id) == ([], [])
    # And the slot is free at once (not after a reaper pass)
    assert start_interactive(services, team_id, workflow_id, dynamic_variables={"name": "Bo", "city": "Paris"})


def two_fetches_workflow() -> dict[str, Any]:
    """greet (waits) -> first HTTP call -> second HTTP call -> report (waits)."""
    config = weather_workflow(WEATHER)
    fetch = next(node for node in config["nodes"] if node["logical_id"] == "fetch")
    again = {**fetch, "logical_id": "fetch_again"}
    config["nodes"].append(again)
    for edge in config["edges"]:
        if edge["logical_id"] == "fetched":
            edge["destination_node_logical_id"] = "fetch_again"
    config["edges"].append(
        {
            "logical_id": "fetched_again",
            "type": "direct",
            "source_node_logical_id": "fetch_again",
            "destination_node_logical_id": "report",
        }
    )
    return config


def test_a_stop_during_a_turn_prevents_every_later_http_call_and_its_commit(services):
    # Given a run waiting for input whose next turn makes two HTTP calls
    team_id = make_team(services, limit=1)
    stopped: list[str] = []

    def stop_while_answering(request: Any) -> Any:
        # The user's stop lands while the first call is in flight
        services.runs.lifecycle.stop(team_id, run_id)
        stopped.append(request.url)
        return json_response(200, b'{"forecast": "sunny"}')

    http = FakeHttp().route("GET", FORECAST_URL, stop_while_answering)
    services.runs.__dict__["http_client"] = http
    workflow_id = make_workflow(services, team_id, config=two_fetches_workflow())
    run_id = start_interactive(services, team_id, workflow_id, dynamic_variables={"name": "Ann", "city": "Paris"})
    # When the user answers "yes" and stops the run during the first call
    with pytest.raises(Conflict, match="cancelled"):
        services.runs.turn_runner.apply(
            team_id,
            run_id,
            WorkflowRunInput(command=RunCommand.DATA, thread_to_node_inputs=user_message("yes")),
        )
    # Then the second call is never made and nothing of the turn is committed
    assert [request.url for request in http.requests] == [FORECAST_URL]
    run = stored_run(services, run_id)
    assert run.workflow_run.status is RunStatus.CANCELLED and len(run.workflow_run.input_output_pairs) == 1
    assert slot_holders(services, team_id, workflow_id) == ([], [])


def test_a_turn_without_llm_or_http_calls_costs_no_claim_check(services):
    # Given a run waiting for input on a workflow without LLM or HTTP nodes
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    run_id = start_interactive(services, team_id, workflow_id)
    counter = services.core.database.counter
    counter.reset()
    # When the user answers
    services.runs.turn_runner.apply(
        team_id, run_id, WorkflowRunInput(command=RunCommand.DATA, thread_to_node_inputs=user_message("ok"))
    )
    # Then the turn wrote only its claim and its commit: no heartbeat-as-check round trip
    assert counter.calls.get("workflow_runs.update_one", 0) == 0


def test_a_dispatch_during_a_refused_executes_brief_team_hold_still_starts_the_queue(services, monkeypatch):
    # Given a team of limit 2: W1 (cap 1) held by X, W2 held by Y, and Q (W2) queued behind them
    team_id = make_team(services, limit=2)
    capped = make_workflow(services, team_id, cap=1)
    other = make_workflow(services, team_id)
    x = submit(services, team_id, capped)
    y = submit(services, team_id, other)
    drain_worker(services)
    queued = submit(services, team_id, other)
    assert status_of(services, queued.id) == "not_started"
    store, dispatcher = services.concurrency.lease_store, services.concurrency.dispatcher
    real_release, real_dispatch = store.release, dispatcher.dispatch
    admitted_meanwhile: list[list[str]] = []

    def stop_dispatches_during_the_execute(team, **options):
        # Y's stop frees a slot and dispatches; its dispatch lands while an execute on W1 holds the
        # team slot it is about to give back (its workflow is at its cap)
        monkeypatch.setattr(dispatcher, "dispatch", real_dispatch)

        def dispatch_then_release(run_id, token, leases):
            monkeypatch.setattr(store, "release", real_release)
            admitted_meanwhile.append(real_dispatch(team, **options))
            return real_release(run_id, token, leases)

        monkeypatch.setattr(store, "release", dispatch_then_release)
        with pytest.raises(NoSlotAvailable):
            services.runs.turns.execute(Caller(team_id, "alice"), capped, WorkflowRunInput(), None, None)
        return []

    monkeypatch.setattr(dispatcher, "dispatch", stop_dispatches_during_the_execute)
    # When Y is stopped
    services.runs.lifecycle.stop(team_id, y.id)
    # Then the dispatch that saw the team full admitted nothing, but the refused execute's give-back
    # dispatched the team: Q holds the free slot without waiting for the reaper
    assert admitted_meanwhile == [[]]
    assert status_of(services, queued.id) == "started"
    assert sorted(holders(services, f"team:{team_id}")) == sorted([x.id, queued.id])


def test_a_dispatcher_whose_grant_lost_the_start_leaves_the_runs_own_token_so_its_release_frees_the_slot(
    services, monkeypatch
):
    # Given a team of limit 1 and a run R queued
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    runs, dispatcher = services.runs.repository, services.concurrency.dispatcher
    real_change_status = runs.change_status
    first_start: list[tuple] = []

    def racing(team, run_id, from_statuses, changes, **options):
        if changes.get("status") != "started":
            return real_change_status(team, run_id, from_statuses, changes, **options)
        if not first_start:
            # P1 acquired R (token T1) and is about to start it: P2's pass runs now and re-grants R (T2)
            first_start.append((team, run_id, from_statuses, changes, options))
            dispatcher.dispatch(team_id)
            return runs.get(None, run_id)
        # P2 is about to start R: P1's start lands first (R records T1), then P2's, which loses
        p1_team, p1_run, p1_from, p1_changes, p1_options = first_start[0]
        real_change_status(p1_team, p1_run, p1_from, p1_changes, **p1_options)
        return real_change_status(team, run_id, from_statuses, changes, **options)

    monkeypatch.setattr(runs, "change_status", racing)
    run = submit(services, team_id, workflow_id)
    monkeypatch.setattr(runs, "change_status", real_change_status)
    recorded = stored_run(services, run.id).workflow_run.lease_token
    lease = services.core.database.raw["concurrency_leases"].find_one({"_id": f"team:{team_id}"})
    # Then the lease carries the token R recorded
    assert status_of(services, run.id) == "started" and lease["tokens"][run.id] == recorded
    # And when R is stopped, its slot is free at once: the next run starts without a reaper pass
    services.runs.lifecycle.stop(team_id, run.id)
    assert holders(services, f"team:{team_id}") == []
    assert status_of(services, submit(services, team_id, workflow_id).id) == "started"
