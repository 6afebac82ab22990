"""Webhook emission through the outbox, in-process: the real run and workflow paths over mongomock, with
the in-memory subscription reader, event store and delivery queue installed where the other webhook parts
plug in (the ``hooks`` fixture, tests/support/webhook_outbox.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from functools import cached_property

from tests.fakes.webhooks import InMemoryWebhookDeliveryQueue, InMemoryWebhookEvents
from tests.support.api import call
from tests.support.webhook_outbox import execute, make_workflow, stored_run, stored_workflow
from tests.support.workflows import user_message
from workflow_service.models.runs import RunTrigger, TriggerType, WorkflowRunInput
from workflow_service.ports.webhooks import WebhookAction, event_id_for


def test_an_execute_api_run_emits_started_then_completed_once_per_subscription(caller, services, hooks):
    # Given a team with two subscriptions to every action
    first, second = hooks.subscribe(caller.team_id, "a"), hooks.subscribe(caller.team_id, "b")
    workflow_id = make_workflow(caller)
    # When a run is started through the execute API and answered until it completes
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    done = execute(caller, workflow_id, {"command": "data", "thread_to_node_inputs": user_message("go")}, run_id)
    assert done.body["status"] == "completed"
    # Then each subscription has exactly one started and one completed event of the run
    started_key, completed_key = f"workflow_run_started:{run_id}:started", f"workflow_run_completed:{run_id}:completed"
    assert hooks.keys()[started_key] == 2 and hooks.keys()[completed_key] == 2
    started = hooks.events.get(event_id_for(first, started_key))
    assert started.workflow_run_id == run_id and started.workflow_run_status == "started"
    assert started.workflow_name == "wf"  # the event log's search by name finds run events too
    assert started.payload["trigger"]["type"] == "manual" and started.payload["version"] == 0
    completed = hooks.events.get(event_id_for(second, completed_key))
    assert completed.payload["status"] == "completed" and completed.payload["output_truncated"] is False
    assert completed.workflow_name == "wf"
    assert completed.payload["output"]["events"], "the last turn's events are the run's output"
    # And every written event was handed to the delivery queue, and no marker is left on the run
    assert sorted(hooks.queue.drain()) == sorted(hooks.events.events)
    assert not stored_run(services, run_id)["workflow_run"].get("webhook_outbox")


def test_a_queued_run_emits_started_when_the_dispatcher_admits_it_and_completed_when_stopped(caller, services, hooks):
    # Given a subscribed team whose only slot is taken
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller, max_concurrent_runs=1)
    holder = execute(caller, workflow_id, {}).body["run_id"]
    submit = services.runs.submission.submit
    from workflow_service.models.common import Caller

    owner = Caller(team_id=caller.team_id, user_id="alice")
    trigger = RunTrigger(type=TriggerType.SQS, message_id="m-1")
    queued = submit(owner, workflow_id, None, WorkflowRunInput(), trigger, dedupe_key="sqs:m-1")
    queued_id = str(queued.id)
    # Then a queued run has no started event yet
    assert hooks.keys()[f"workflow_run_started:{queued_id}:started"] == 0
    # When the holder is stopped: its completion is emitted, and the dispatcher admits the queued run
    assert execute(caller, workflow_id, {"command": "stop"}, holder).body["status"] == "cancelled"
    assert hooks.keys()[f"workflow_run_completed:{holder}:cancelled"] == 1
    [started] = [e for e in hooks.of(WebhookAction.WORKFLOW_RUN_STARTED) if e.workflow_run_id == queued_id]
    assert started.payload["trigger"]["type"] == "sqs" and started.payload["trigger"]["message_id"] == "m-1"


def test_workflow_create_update_version_activate_and_delete_each_emit_one_event(caller, services, hooks):
    # Given a subscribed team
    subscription = hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    # When the workflow is renamed, gets a new version, has it activated, and is deleted
    assert call("update_workflow", caller=caller, path={"workflow_id": workflow_id}, body={"name": "w2"}).status == 200
    created = call(
        "create_workflow_version", caller=caller, path={"workflow_id": workflow_id}, body={"version_name": "v1"}
    )
    assert created.status == 200, created
    path = {"workflow_id": workflow_id, "version_number": 1}
    assert call("activate_workflow_version", caller=caller, path=path).status == 200
    assert call("delete_workflow", caller=caller, path={"workflow_id": workflow_id}).status in (200, 204)
    # Then one created, three updated (revisions 1, 2, 3) and one deleted event exist
    assert hooks.keys() == Counter(
        {
            f"workflow_created:{workflow_id}": 1,
            f"workflow_updated:{workflow_id}:1": 1,
            f"workflow_updated:{workflow_id}:2": 1,
            f"workflow_updated:{workflow_id}:3": 1,
            f"workflow_deleted:{workflow_id}": 1,
        }
    )
    last_update = hooks.events.get(event_id_for(subscription, f"workflow_updated:{workflow_id}:3"))
    assert last_update.payload["workflow"] == {"id": workflow_id, "name": "w2", "version": 1, "revision": 3}
    assert last_update.workflow_name == "w2"
    deleted = hooks.of(WebhookAction.WORKFLOW_DELETED)[0]
    assert deleted.payload["action"] == "workflow_deleted" and deleted.payload["team_id"] == caller.team_id


def test_run_events_name_the_workflow_as_it_is_named_when_they_are_emitted(caller, services, hooks):
    # Given a subscribed team whose workflow was renamed after a first run
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    first = execute(caller, workflow_id, {}).body["run_id"]
    renamed = call("update_workflow", caller=caller, path={"workflow_id": workflow_id}, body={"name": "Intake"})
    assert renamed.status == 200
    # When another container (nothing cached) emits the next run's events
    services.webhooks.__dict__.pop("workflow_names")
    services.webhooks.__dict__.pop("run_outbox")
    runs = services.runs
    for name in [n for n in vars(runs) if isinstance(getattr(type(runs), n, None), cached_property)]:
        runs.__dict__.pop(name)
    second = execute(caller, workflow_id, {}).body["run_id"]
    # Then the first run's event has the name of its time, the second the current one, read from MongoDB
    names = {e.workflow_run_id: e.workflow_name for e in hooks.of(WebhookAction.WORKFLOW_RUN_STARTED)}
    assert names == {first: "wf", second: "Intake"}


def test_a_team_without_subscriptions_gets_no_marker_and_no_event(caller, other_caller, services, hooks):
    # Given only another team subscribes
    hooks.subscribe(other_caller.team_id)
    workflow_id = make_workflow(caller)
    # When this team runs and updates its workflow
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    call("update_workflow", caller=caller, path={"workflow_id": workflow_id}, body={"name": "w2"})
    # Then nothing was emitted and its documents carry no marker
    assert hooks.events.events == {} and hooks.queue.sent == []
    assert "webhook_outbox" not in stored_run(services, run_id)["workflow_run"]
    workflow = services.core.database.raw["workflows"].find_one({})
    assert "webhook_outbox" not in workflow and workflow["webhook_revision"] == 1


def test_a_first_execute_turn_with_one_subscription_adds_two_round_trips_and_one_send(caller, services, hooks):
    # Given a team with one subscription, its answer cached by the workflow's creation
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller, max_concurrent_runs=3)
    counter = services.core.database.counter
    counter.reset()
    inserts_before, reads_before = hooks.events.inserts, hooks.subscriptions.reads
    hooks.queue.drain()  # the workflow_created delivery request
    # When the first turn executes (and ends waiting: only workflow_run_started is caused)
    first = execute(caller, workflow_id, {})
    assert first.status == 200 and first.body["status"] == "waiting_for_user_input"
    # Then emission added the event insert and the marker's clearing (2 round trips) and one queue send
    without_emission = 6
    event_inserts = hooks.events.inserts - inserts_before
    assert event_inserts == 1 and counter.calls["workflow_runs.update_one"] == 1
    assert counter.total + event_inserts - without_emission <= 2, dict(counter.calls)
    assert len(hooks.queue.sent) == 1 and hooks.subscriptions.reads == reads_before  # the cached answer


def test_the_reaper_re_emits_from_a_marker_a_failed_emission_left(caller, services, hooks, clock):
    # Given a subscribed team whose event store fails while a run starts
    subscription = hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    hooks.events.failures_left = 1
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    key = f"workflow_run_started:{run_id}:started"
    # Then the run started anyway, without its event, and kept the marker
    assert hooks.keys()[key] == 0
    assert "workflow_run_started" in stored_run(services, run_id)["workflow_run"]["webhook_outbox"]
    # When the reaper passes (twice: a second pass must change nothing)
    first = services.reaper.service.reap()
    second = services.reaper.service.reap()
    # Then the event exists once, was sent once, and the marker is gone
    assert first["webhook_markers_reemitted"] == 1 and second["webhook_markers_reemitted"] == 0
    assert hooks.keys()[key] == 1 and event_id_for(subscription, key) in hooks.queue.drain()
    assert not stored_run(services, run_id)["workflow_run"]["webhook_outbox"]


def test_a_marker_that_cannot_be_re_emitted_does_not_hold_back_the_others(caller, services, hooks, monkeypatch):
    # Given two runs whose started events could not be written
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller, max_concurrent_runs=5)
    hooks.events.failures_left = 2
    stuck, fine = (execute(caller, workflow_id, {}).body["run_id"] for _ in range(2))
    # And the first one's event fails for a reason of its own (not the store being down)
    insert = hooks.events.insert_if_absent

    def poisoned(event):
        if stuck in event.dedupe_key:
            raise ValueError("this event cannot be built")
        return insert(event)

    monkeypatch.setattr(hooks.events, "insert_if_absent", poisoned)
    # When the reaper passes
    summary = services.reaper.service.reap()
    # Then the other run's event was written, and the stuck marker stays for the next pass
    assert hooks.keys()[f"workflow_run_started:{fine}:started"] == 1
    assert hooks.keys()[f"workflow_run_started:{stuck}:started"] == 0
    assert "workflow_run_started" in stored_run(services, stuck)["workflow_run"]["webhook_outbox"]
    assert summary["webhook_markers_reemitted"] == 1


def test_an_update_whose_events_failed_is_still_emitted_by_the_next_update(caller, services, hooks):
    # Given a subscribed team's workflow whose first update's event write fails
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    hooks.events.failures_left = 1
    call("update_workflow", caller=caller, path={"workflow_id": workflow_id}, body={"name": "w2"})
    assert hooks.keys()[f"workflow_updated:{workflow_id}:1"] == 0
    # When it is updated again before any reaper pass
    call("update_workflow", caller=caller, path={"workflow_id": workflow_id}, body={"name": "w3"})
    # Then both revisions have their event: the pending count on the marker covers the first
    assert hooks.keys()[f"workflow_updated:{workflow_id}:1"] == 1
    assert hooks.keys()[f"workflow_updated:{workflow_id}:2"] == 1
    assert "workflow_updated" not in services.core.database.raw["workflows"].find_one({}).get("webhook_outbox", {})


def test_a_new_subscription_is_seen_once_the_cached_answer_is_30_seconds_old(caller, services, hooks, clock):
    # Given the team's (empty) subscriptions were read by a workflow creation
    workflow_id = make_workflow(caller)
    hooks.subscribe(caller.team_id)
    # When the workflow is updated within 30 s, then after
    call("update_workflow", caller=caller, path={"workflow_id": workflow_id}, body={"name": "w2"})
    clock.advance(seconds=30)
    call("update_workflow", caller=caller, path={"workflow_id": workflow_id}, body={"name": "w3"})
    # Then only the later update emits (the documented window), under its own revision
    assert hooks.keys() == Counter({f"workflow_updated:{workflow_id}:2": 1})


def test_completion_events_keep_the_changes_timestamp_when_re_emitted(caller, services, hooks, clock):
    # Given a completion whose event write failed
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    hooks.events.failures_left = 1
    stopped_at = clock.now()
    execute(caller, workflow_id, {"command": "stop"}, run_id)
    # When the reaper re-emits it a minute later
    clock.advance(seconds=60)
    services.reaper.service.reap()
    # Then the payload says when the run was cancelled, not when the event was written
    [completed] = hooks.of(WebhookAction.WORKFLOW_RUN_COMPLETED)
    assert completed.payload["status"] == "cancelled" and completed.payload["termination_source"] == "user_stop"
    # (to the millisecond: MongoDB keeps dates in milliseconds)
    stopped_at_ms = stopped_at.astimezone(UTC).replace(microsecond=stopped_at.microsecond // 1000 * 1000)
    assert datetime.fromisoformat(completed.payload["occurred_at"].replace("Z", "+00:00")) == stopped_at_ms


def test_deleting_a_run_whose_completion_was_not_emitted_emits_it_first(caller, services, hooks):
    # Given a subscribed team's run whose cancellation event could not be written
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    hooks.events.failures_left = 1
    execute(caller, workflow_id, {"command": "stop"}, run_id)
    assert hooks.keys()[f"workflow_run_completed:{run_id}:cancelled"] == 0
    # When the user deletes the run before any reaper pass
    assert call("delete_workflow_run", caller=caller, path={"workflow_run_id": run_id}).status in (200, 204)
    # Then its completion was emitted before its document (and marker) went
    assert hooks.keys()[f"workflow_run_completed:{run_id}:cancelled"] == 1
    assert stored_run(services, run_id) is None


def test_a_run_delete_that_cannot_write_a_pending_event_fails_and_keeps_the_run(caller, services, hooks):
    # Given a run whose cancellation event could not be written, and an event store still down
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    hooks.events.failures_left = 2
    execute(caller, workflow_id, {"command": "stop"}, run_id)
    # When the user deletes the run
    refused = call("delete_workflow_run", caller=caller, path={"workflow_run_id": run_id})
    # Then the delete is refused as retryable and the run (with its marker) stays, so no event is lost
    assert refused.status == 503, refused
    assert stored_run(services, run_id) is not None
    # And once the store is back, the retried delete emits the event and deletes the run
    assert call("delete_workflow_run", caller=caller, path={"workflow_run_id": run_id}).status in (200, 204)
    assert hooks.keys()[f"workflow_run_completed:{run_id}:cancelled"] == 1
    assert stored_run(services, run_id) is None


def test_a_live_run_delete_that_cannot_write_its_completion_fails_keeps_the_run_and_converges(caller, services, hooks):
    # Given a subscribed team's run waiting for input, and an event store failing once
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    hooks.events.failures_left = 1
    key = f"workflow_run_completed:{run_id}:cancelled"
    # When the user deletes the run
    refused = call("delete_workflow_run", caller=caller, path={"workflow_run_id": run_id})
    # Then the delete is refused as retryable, and the run stays cancelled with its completion's marker
    assert refused.status == 503, refused
    kept = stored_run(services, run_id)["workflow_run"]
    assert kept["status"] == "cancelled" and "workflow_run_completed" in kept["webhook_outbox"]
    assert hooks.keys()[key] == 0
    # And the retried delete writes the event once, then deletes the run
    assert call("delete_workflow_run", caller=caller, path={"workflow_run_id": run_id}).status in (200, 204)
    assert hooks.keys()[key] == 1 and stored_run(services, run_id) is None


def test_a_live_run_delete_given_up_after_a_failed_completion_is_emitted_by_the_reaper(caller, services, hooks):
    # Given a live run whose delete was refused because its completion could not be written
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    hooks.events.failures_left = 1
    assert call("delete_workflow_run", caller=caller, path={"workflow_run_id": run_id}).status == 503
    # When the client does not retry and the reaper passes
    assert services.reaper.service.reap()["webhook_markers_reemitted"] == 1
    # Then the cancellation has its event, from the marker the refused delete kept
    assert hooks.keys()[f"workflow_run_completed:{run_id}:cancelled"] == 1
    assert not stored_run(services, run_id)["workflow_run"]["webhook_outbox"]


def test_a_workflow_delete_that_cannot_write_its_event_fails_keeps_the_tombstone_and_converges(caller, services, hooks):
    # Given a subscribed team's workflow, and an event store failing once
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    hooks.events.failures_left = 1
    # When the workflow is deleted
    refused = call("delete_workflow", caller=caller, path={"workflow_id": workflow_id})
    # Then the delete is refused as retryable, and the tombstone keeps the workflow_deleted marker
    assert refused.status == 503, refused
    tombstone = stored_workflow(services, workflow_id)
    assert tombstone["deleted_at"] is not None and "workflow_deleted" in tombstone["webhook_outbox"]
    assert call("get_workflow", caller=caller, path={"workflow_id": workflow_id}).status == 404
    assert hooks.keys()[f"workflow_deleted:{workflow_id}"] == 0
    # And the retried delete finds the tombstone, writes the event once, then removes the documents
    assert call("delete_workflow", caller=caller, path={"workflow_id": workflow_id}).status in (200, 204)
    assert hooks.keys()[f"workflow_deleted:{workflow_id}"] == 1
    assert stored_workflow(services, workflow_id) is None


def test_a_workflow_delete_given_up_after_a_failed_event_is_emitted_and_finished_by_the_reaper(
    caller, services, hooks, clock
):
    # Given a workflow whose delete was refused because its workflow_deleted event could not be written
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    hooks.events.failures_left = 1
    assert call("delete_workflow", caller=caller, path={"workflow_id": workflow_id}).status == 503
    # When the client does not retry: a reaper pass within the deletion's grace period
    first = services.reaper.service.reap()
    # Then it re-emits the event from the tombstone's marker, and leaves the deletion to the request
    assert first["webhook_markers_reemitted"] == 1 and first["workflow_deletions_finished"] == 0
    assert hooks.keys()[f"workflow_deleted:{workflow_id}"] == 1
    # And the first pass after the grace period finishes the deletion, with no second event
    clock.advance(seconds=services.settings.reaper.lease_grace_seconds + 1)
    assert services.reaper.service.reap()["workflow_deletions_finished"] == 1
    assert stored_workflow(services, workflow_id) is None
    assert hooks.keys()[f"workflow_deleted:{workflow_id}"] == 1


def test_a_tombstone_whose_event_cannot_be_written_does_not_hold_back_the_other_deletions(
    caller, services, hooks, clock, monkeypatch
):
    # Given two workflows whose deletes were refused (the event store down), the older one first
    hooks.subscribe(caller.team_id)
    stuck, fine = make_workflow(caller), make_workflow(caller)
    hooks.events.failures_left = 2
    for workflow_id in (stuck, fine):
        assert call("delete_workflow", caller=caller, path={"workflow_id": workflow_id}).status == 503
        clock.advance(seconds=1)
    # And the older one's event fails for a reason of its own (not the store being down)
    insert = hooks.events.insert_if_absent

    def poisoned(event):
        if stuck in event.dedupe_key:
            raise ValueError("this event cannot be built")
        return insert(event)

    monkeypatch.setattr(hooks.events, "insert_if_absent", poisoned)
    # When the reaper passes after the deletions' grace period
    clock.advance(seconds=services.settings.reaper.lease_grace_seconds + 1)
    summary = services.reaper.service.reap()
    # Then the other deletion was finished with its event, and the stuck tombstone keeps its marker
    assert summary["workflow_deletions_finished"] == 1
    assert stored_workflow(services, fine) is None and hooks.keys()[f"workflow_deleted:{fine}"] == 1
    assert "workflow_deleted" in stored_workflow(services, stuck)["webhook_outbox"]


def test_with_the_mongo_subscription_store_a_team_without_subscriptions_pays_no_round_trip(caller, services):
    # Given the real subscription store (the event store and queue stand in for the delivery part)
    services.webhooks.__dict__.update(events=InMemoryWebhookEvents(), delivery_queue=InMemoryWebhookDeliveryQueue())
    counter = services.core.database.counter
    counter.reset()
    workflow_id = make_workflow(caller, max_concurrent_runs=3)
    # Then creating the workflow read the team's subscriptions once (for every action)
    assert counter.calls["webhook_subscriptions.find"] == 1
    counter.reset()
    # When a first execute turn runs within the cache's 30 s
    first = execute(caller, workflow_id, {})
    assert first.status == 200 and first.body["status"] == "waiting_for_user_input"
    # Then it costs exactly what it cost before webhooks (DESIGN.md section 10: at most 6)
    assert dict(counter.calls) == {
        "workflows.find_one": 1,
        "workflow_versions.find_one": 1,
        "teams.find_one": 1,
        "concurrency_leases.bulk_write": 1,
        "workflow_runs.insert_one": 1,
        "workflow_runs.find_one_and_update": 1,
    }
