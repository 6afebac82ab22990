"""Issue 14's policies on recurring schedules, through the handlers: overlap policies driven by the
schedule-target handler, backfill, start/end bounds and the flexible window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.schedules.conftest import count, finish_first_turn, fire
from tests.support.api import call
from tests.support.webhook_outbox import stored_run
from tests.support.workflows import endless_conversation_workflow
from workflow_service.ports.webhooks import WebhookAction

MINUTELY = "* * * * *"
HOURLY = "0 * * * *"


def waiting_workflow(caller) -> dict[str, Any]:
    reply = call(
        "create_workflow", caller=caller, body={"name": "Waits", "workflow_config": endless_conversation_workflow()}
    )
    assert reply.status == 200, reply
    return reply.body["workflow"]


def create(caller, workflow_id: str, **body: Any) -> dict[str, Any]:
    reply = call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow_id},
        body={"cron_expression": MINUTELY, **body},
    )
    assert reply.status == 200, reply
    return reply.body


def minute(clock, offset: int) -> str:
    """The scheduled time ``offset`` minutes after 12:00, with the clock moved just past it."""
    when = datetime(2030, 1, 1, 12, offset, tzinfo=UTC)
    clock.current = when + timedelta(seconds=1)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def history(caller, schedule_id: str) -> list[dict[str, Any]]:
    reply = call("get_recurring_schedule_history", caller=caller, path={"schedule_id": schedule_id})
    assert reply.status == 200, reply
    return list(reversed(reply.body["history"]))  # oldest first


def run_status(services, run_id: str) -> tuple[str, str | None]:
    run = services.core.database.raw["workflow_runs"].find_one({"_id": __import__("bson").ObjectId(run_id)})
    return run["workflow_run"]["status"], run["workflow_run"].get("termination_source")


def stop(caller, run_id: str) -> None:
    reply = call("start_or_resume_workflow_run", caller=caller, body={"command": "stop", "workflow_run_id": run_id})
    assert reply.status == 200, reply


def test_skip_records_skipped_firings_while_the_run_waits_and_makes_one_run(services, caller, clock):
    # Given a minute cron with overlap_policy skip on a workflow whose run waits for input
    schedule = create(caller, waiting_workflow(caller)["_id"], overlap_policy="skip")
    assert schedule["overlap_policy"] == "skip"
    # When it fires at 12:01, the run waits, and it fires at 12:02 and 12:03
    first = fire(schedule["_id"], "recurring", minute(clock, 1))
    finish_first_turn(services, first["run_id"])
    outcomes = [fire(schedule["_id"], "recurring", minute(clock, offset)) for offset in (2, 3)]
    # Then one run exists and the later firings are skipped history rows with reason overlap
    assert first["outcome"] == "started" and [o["outcome"] for o in outcomes] == ["skipped", "skipped"]
    assert count(services, "workflow_runs") == 1
    rows = history(caller, schedule["_id"])
    assert [(row["status"], row.get("reason")) for row in rows] == [
        ("running", None),
        ("skipped", "overlap"),
        ("skipped", "overlap"),
    ]
    assert rows[1]["execution_id"] is None
    # And a duplicate delivery of a skipped firing adds nothing; counters count runs only
    fire(schedule["_id"], "recurring", "2030-01-01T12:02:00Z")
    got = call("get_recurring_schedule", caller=caller, path={"schedule_id": schedule["_id"]}).body
    assert len(history(caller, schedule["_id"])) == 3 and got["run_count"] == 1 and got["failure_count"] == 0
    # When the run ends, the next firing starts a run again
    stop(caller, first["run_id"])
    assert fire(schedule["_id"], "recurring", minute(clock, 4))["outcome"] == "started"
    assert count(services, "workflow_runs") == 2


def test_buffer_one_keeps_one_waiting_firing_and_starts_it_when_the_run_ends(services, caller, clock):
    schedule = create(caller, waiting_workflow(caller)["_id"], overlap_policy="buffer_one")
    first = fire(schedule["_id"], "recurring", minute(clock, 1))
    finish_first_turn(services, first["run_id"])
    # When two more firings come while the run waits
    second = fire(schedule["_id"], "recurring", minute(clock, 2))
    third = fire(schedule["_id"], "recurring", minute(clock, 3))
    # Then the first of them waits (no run made) and the other is skipped
    assert (second["outcome"], third["outcome"]) == ("buffered", "skipped")
    assert (
        count(services, "workflow_runs") == 1
        and count(services, "workflow_runs", {"workflow_run.status": "not_started"}) == 0
    )
    # When the run ends (its user stops it), the buffered firing's run starts
    stop(caller, first["run_id"])
    rows = history(caller, schedule["_id"])
    assert [(row["scheduled_time"], row["status"]) for row in rows] == [
        ("2030-01-01T12:01:00Z", "failed"),
        ("2030-01-01T12:02:00Z", "running"),
        ("2030-01-01T12:03:00Z", "skipped"),
    ]
    assert count(services, "workflow_runs") == 2
    document = services.core.database.raw["recurring_schedules"].find_one({})
    assert document["buffered_firing"] is None and document["active_firing"]["run_id"] == rows[1]["execution_id"]


def test_buffered_firing_whose_run_end_was_lost_is_started_by_the_reaper(services, caller, clock):
    schedule = create(caller, waiting_workflow(caller)["_id"], overlap_policy="buffer_one")
    first = fire(schedule["_id"], "recurring", minute(clock, 1))
    finish_first_turn(services, first["run_id"])
    assert fire(schedule["_id"], "recurring", minute(clock, 2))["outcome"] == "buffered"
    # Given the run ended but its run-end notification was lost (the listener never ran)
    services.core.database.raw["workflow_runs"].update_one(
        {"workflow_run.status": "waiting_for_user_input"}, {"$set": {"workflow_run.status": "failed"}}
    )
    # When the reaper's schedule reconciliation runs
    report = services.schedules.reconciliation.reconcile(50)
    # Then the buffered firing's run is started
    assert report["overlap_repaired"] >= 1, report
    assert [row["status"] for row in history(caller, schedule["_id"])][1] == "running"
    assert count(services, "workflow_runs") == 2


def test_cancel_previous_stops_the_previous_run_and_starts_the_new_one(services, caller, clock):
    schedule = create(caller, waiting_workflow(caller)["_id"], overlap_policy="cancel_previous")
    first = fire(schedule["_id"], "recurring", minute(clock, 1))
    finish_first_turn(services, first["run_id"])
    second = fire(schedule["_id"], "recurring", minute(clock, 2))
    assert second["outcome"] == "started" and second["run_id"] != first["run_id"]
    assert run_status(services, first["run_id"]) == ("cancelled", "schedule_overlap")
    assert run_status(services, second["run_id"])[0] in {"started", "not_started"}
    rows = history(caller, schedule["_id"])
    assert [(row["execution_id"], row["status"]) for row in rows] == [
        (first["run_id"], "failed"),
        (second["run_id"], "running"),
    ]


def test_cancel_previous_emits_the_replaced_runs_completion(services, caller, clock, hooks):
    # Given a subscribed team's cancel_previous schedule whose 12:01 run waits for input
    hooks.subscribe(caller.team_id)
    schedule = create(caller, waiting_workflow(caller)["_id"], overlap_policy="cancel_previous")
    first = fire(schedule["_id"], "recurring", minute(clock, 1))
    finish_first_turn(services, first["run_id"])
    # When the 12:02 firing replaces it
    fire(schedule["_id"], "recurring", minute(clock, 2))
    # Then the replaced run's cancellation has its one workflow_run_completed event, handed to delivery
    events = [e for e in hooks.of(WebhookAction.WORKFLOW_RUN_COMPLETED) if e.workflow_run_id == first["run_id"]]
    assert len(events) == 1, f"the replaced run has {len(events)} workflow_run_completed events"
    completed = events[0]
    assert completed.dedupe_key == f"workflow_run_completed:{first['run_id']}:cancelled"
    assert completed.payload["termination_source"] == "schedule_overlap"
    assert completed.event_id in hooks.queue.drain()
    # And no marker is left for the reaper, which has nothing to re-emit
    assert not stored_run(services, first["run_id"])["workflow_run"].get("webhook_outbox")
    assert services.reaper.service.reap()["webhook_markers_reemitted"] == 0


def test_allow_is_the_default_and_starts_a_run_per_firing(services, caller, clock):
    schedule = create(caller, waiting_workflow(caller)["_id"])
    runs = [fire(schedule["_id"], "recurring", minute(clock, offset))["outcome"] for offset in (1, 2)]
    assert runs == ["started", "started"] and count(services, "workflow_runs") == 2


def backfill(caller, schedule_id: str, start: str, end: str):
    return call(
        "backfill_recurring_schedule",
        caller=caller,
        path={"schedule_id": schedule_id},
        body={"start": start, "end": end},
    )


def test_backfilling_three_hours_of_an_hourly_cron_makes_three_runs_and_repeating_it_none(
    services, caller, workflow, clock
):
    schedule = create(caller, workflow["_id"], cron_expression=HOURLY)
    clock.current = datetime(2030, 1, 1, 18, 30, tzinfo=UTC)
    # When 13:00 < t <= 16:00 is backfilled
    reply = backfill(caller, schedule["_id"], "2030-01-01T13:00:00Z", "2030-01-01T16:00:00Z")
    assert reply.status == 200, reply
    occurrences = reply.body["occurrences"]
    assert [o["scheduled_time"] for o in occurrences] == [
        "2030-01-01T14:00:00Z",
        "2030-01-01T15:00:00Z",
        "2030-01-01T16:00:00Z",
    ]
    assert all(o["created"] for o in occurrences) and count(services, "workflow_runs") == 3
    rows = history(caller, schedule["_id"])
    assert [row.get("backfill") for row in rows] == [True, True, True]
    # When it is repeated, and a real firing of 16:00 arrives late
    again = backfill(caller, schedule["_id"], "2030-01-01T13:00:00Z", "2030-01-01T16:00:00Z")
    late = fire(schedule["_id"], "recurring", "2030-01-01T16:00:00Z")
    # Then nothing new is made: the same runs answer
    assert [o["created"] for o in again.body["occurrences"]] == [False, False, False]
    assert [o["run_id"] for o in again.body["occurrences"]] == [o["run_id"] for o in occurrences]
    assert late["outcome"] == "duplicate" and count(services, "workflow_runs") == 3


def test_backfill_runs_go_through_admission_and_queue_when_the_team_is_full(services, caller, workflow, clock):
    services.core.database.raw["teams"].update_one({"_id": caller.team_id}, {"$set": {"max_concurrent_runs": 1}})
    schedule = create(caller, workflow["_id"], cron_expression=HOURLY)
    clock.current = datetime(2030, 1, 1, 18, 30, tzinfo=UTC)
    assert backfill(caller, schedule["_id"], "2030-01-01T13:00:00Z", "2030-01-01T15:00:00Z").status == 200
    statuses = sorted(run["workflow_run"]["status"] for run in services.core.database.raw["workflow_runs"].find())
    assert statuses == ["not_started", "started"]


@pytest.mark.parametrize(
    ("start", "end", "loc"),
    [
        ("2030-01-01T11:00:00Z", "2030-01-01T12:30:00Z", ["body", "end"]),  # in the future
        ("2030-01-01T11:00:00Z", "2030-01-01T10:00:00Z", ["body", "start"]),  # start after end
        ("2029-12-01T00:00:00Z", "2030-01-01T00:00:00Z", ["body", "end"]),  # 31 days of minutes > 1000
        ("2030-01-01T11:00:00", "2030-01-01T11:30:00Z", ["body", "start"]),  # no offset
    ],
)
def test_bad_backfill_intervals_are_refused_naming_the_field_and_make_nothing(
    services, caller, workflow, start, end, loc
):
    schedule = create(caller, workflow["_id"])
    reply = backfill(caller, schedule["_id"], start, end)
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == loc, reply
    assert count(services, "workflow_runs") == 0


def test_camel_case_backfill_answers_in_the_schedules_zone(services, caller, workflow, clock):
    created = call(
        "api_create_schedule",
        caller=caller,
        body={"workflowId": workflow["_id"], "cronExpression": HOURLY, "timezone": "America/New_York"},
    ).body
    clock.current = datetime(2030, 1, 1, 18, 30, tzinfo=UTC)
    body = {"start": "2030-01-01T13:00:00Z", "end": "2030-01-01T15:00:00Z"}
    reply = call("api_backfill_schedule", caller=caller, path={"id": created["id"]}, body=body)
    assert reply.status == 200, reply
    assert [o["scheduledTime"] for o in reply.body["occurrences"]] == [
        "2030-01-01T09:00:00-05:00",
        "2030-01-01T10:00:00-05:00",
    ]
    too_late = call(
        "api_backfill_schedule", caller=caller, path={"id": created["id"]}, body={**body, "end": "2031-01-01T00:00:00Z"}
    )
    assert too_late.status == 400 and set(too_late.body["details"]) == {"end"}, too_late
    history_rows = call("api_get_schedule_history", caller=caller, path={"id": created["id"]}).body["data"]
    assert [row["backfill"] for row in history_rows] == [True, True]


def test_bounds_shape_next_run_and_refuse_a_past_end(services, caller, workflow, clock):
    # start_at in the future: next_run is the first occurrence at or after it
    later = create(caller, workflow["_id"], cron_expression=HOURLY, start_at="2030-01-03T10:00:00Z")
    assert later["next_run"] == "2030-01-03T10:00:00Z" and later["start_at"] == "2030-01-03T10:00:00Z"
    # end_at before the next occurrence: no next_run
    ended = create(caller, workflow["_id"], cron_expression="30 * * * *", end_at="2030-01-01T12:20:00Z")
    assert ended["next_run"] is None
    # A firing outside the bounds starts nothing
    assert fire(later["_id"], "recurring", "2030-01-01T13:00:00Z")["outcome"] == "skipped"
    past = call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"cron_expression": "15 * * * *", "end_at": "2030-01-01T11:00:00Z"},
    )
    assert past.status == 422 and past.body["detail"][0]["loc"] == ["body", "end_at"], past
    before_start = call(
        "update_recurring_schedule",
        caller=caller,
        path={"schedule_id": later["_id"]},
        body={"end_at": "2030-01-02T00:00:00Z"},
    )
    assert before_start.status == 422 and before_start.body["detail"][0]["loc"] == ["body", "end_at"], before_start
    camel = call(
        "api_create_schedule",
        caller=caller,
        body={"workflowId": workflow["_id"], "cronExpression": "45 * * * *", "endAt": "2030-01-01T11:00:00Z"},
    )
    assert camel.status == 400 and set(camel.body["details"]) == {"endAt"}, camel
    assert count(services, "recurring_schedules") == 2 and count(services, "workflow_runs") == 0


def test_previews_honour_start_at_and_end_at(caller):
    reply = call(
        "preview_schedule",
        caller=caller,
        body={
            "cron_expression": HOURLY,
            "start": "2030-01-01T00:00:00Z",
            "start_at": "2030-01-01T05:00:00Z",
            "end_at": "2030-01-01T07:00:00Z",
            "count": 10,
        },
    )
    assert reply.status == 200, reply
    assert reply.body["fire_times"] == ["2030-01-01T05:00:00Z", "2030-01-01T06:00:00Z", "2030-01-01T07:00:00Z"]


def test_policies_round_trip_in_every_answer(caller, workflow):
    created = create(caller, workflow["_id"], overlap_policy="buffer_one", flexible_window_minutes=5)
    path = {"schedule_id": created["_id"]}
    got = call("get_recurring_schedule", caller=caller, path=path).body
    listed = call("list_recurring_schedules", caller=caller).body["recurring_schedules"][0]
    changed = call("update_recurring_schedule", caller=caller, path=path, body={"overlap_policy": "skip"}).body
    for answer in (got, listed):
        assert (answer["overlap_policy"], answer["flexible_window_minutes"]) == ("buffer_one", 5)
    assert changed["overlap_policy"] == "skip" and changed["flexible_window_minutes"] == 5
    bad = call("update_recurring_schedule", caller=caller, path=path, body={"flexible_window_minutes": 1441})
    assert bad.status == 422 and bad.body["detail"][0]["loc"] == ["body", "flexible_window_minutes"]
    camel = call("api_get_schedule", caller=caller, path={"id": created["_id"]}).body
    assert (camel["overlapPolicy"], camel["flexibleWindowMinutes"], camel["startAt"]) == ("skip", 5, None)


def test_skip_through_the_local_scheduler_emulation(services, caller, clock):
    from schedule_target import handler

    from local.scheduler_emulation import LocalSchedulerEmulation

    # Given a minute cron with skip, fired by the local EventBridge emulation on the test clock
    schedule = create(caller, waiting_workflow(caller)["_id"], overlap_policy="skip")
    emulation = LocalSchedulerEmulation(services.schedules.scheduler, handler, now=clock.now)
    # When three minutes pass, the first run waiting for input from its first turn on
    sent = []
    for offset in (1, 2, 3):
        clock.current = datetime(2030, 1, 1, 12, offset, 0, tzinfo=UTC)
        sent.append(emulation.tick())
        for run in services.core.database.raw["workflow_runs"].find({"workflow_run.status": "started"}):
            finish_first_turn(services, str(run["_id"]))
    # Then each minute was delivered, one run waits, and the other two firings are skipped
    assert sent == [1, 1, 1]
    assert count(services, "workflow_runs") == 1
    assert [row["status"] for row in history(caller, schedule["_id"])] == ["running", "skipped", "skipped"]
