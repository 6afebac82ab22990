"""The multi-write operations whose every crash point is enumerated, and the set-ups they start from.

Each ``Operation`` prepares a world (no actor: not steps), then ``act`` makes the request through a
stable entry point: a Lambda handler with an API Gateway event, the schedule-target handler through
the EventBridge emulation, the run worker, the reaper handler, or (dispatch only) the dispatcher.
``give_up`` is what "the request is not retried" means for deliveries that AWS would otherwise
retry (EventBridge's retries spent, the work message dead-lettered).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bson import ObjectId

from tests.simulation.world import Team, World, conversation_workflow, report_workflow
from tests.support.workflows import user_message
from workflow_service.models.common import format_utc

IDEMPOTENCY_KEY = "simulation-request-1"
CRON = "0 * * * *"
MOVED_CRON = "30 * * * *"


@dataclass
class Context:
    """What a set-up made: the team, workflow, runs and schedules the request refers to."""

    team: Team
    workflow_id: str
    run_ids: list[str] = field(default_factory=list)
    schedule_id: str = ""


@dataclass(frozen=True)
class Operation:
    name: str
    prepare: Callable[[World], Context]
    act: Callable[[World, Context], object]
    give_up: Callable[[World, Context], None] = lambda world, context: None
    single_schedule: bool = False  # the request creates one schedule (I2 for Idempotency-Key)
    crash_points: bool = True  # False: a liveness scenario, run once without a crash
    # An area's own invariants, checked on the settled world (returns tests.simulation.invariants.Violation).
    check: Callable[[World, Context], list[Any]] = lambda world, context: []


# -- set-ups ------------------------------------------------------------------------------------


def in_minutes(world: World, minutes: float) -> str:
    return format_utc(world.clock.now() + timedelta(minutes=minutes))


def run_body(command: str, run_id: str, *, message: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"command": command, "workflow_run_id": run_id}
    if message:
        body["thread_to_node_inputs"] = user_message("hello")
    return body


def conversation(world: World, limit: int = 1) -> Context:
    team = world.team(limit)
    return Context(team, world.workflow(team, conversation_workflow()))


def waiting_run(world: World, context: Context) -> str:
    """A run whose first turn ran: waiting for the user, holding a slot."""
    reply = world.api(
        "execute_workflow",
        context.team,
        path={"workflow_id": context.workflow_id},
        body={"run_input": {"command": "start"}},
    )
    assert reply.status == 200, reply
    context.run_ids.append(reply.body["run_id"])
    return str(reply.body["run_id"])


def paused_run(world: World, context: Context) -> str:
    run_id = waiting_run(world, context)
    reply = world.api("start_or_resume_workflow_run", context.team, body=run_body("pause", run_id))
    assert reply.status == 200, reply
    return run_id


def queued_run(world: World, context: Context) -> str:
    """A run started while the team is full: queued (not_started)."""
    reply = world.api(
        "start_or_resume_workflow_run", context.team, body={"command": "start", "workflow_id": context.workflow_id}
    )
    assert reply.status == 200 and reply.body["workflow_run"]["workflow_run"]["status"] == "not_started", reply
    run_id = str(reply.body["workflow_run"]["_id"])
    context.run_ids.append(run_id)
    return run_id


def set_team_limit(world: World, context: Context, limit: int) -> None:
    world.plain.raw["teams"].update_one({"_id": context.team.caller.team_id}, {"$set": {"max_concurrent_runs": limit}})


def with_waiting(world: World) -> Context:
    context = conversation(world)
    waiting_run(world, context)
    return context


def with_paused(world: World) -> Context:
    context = conversation(world)
    paused_run(world, context)
    return context


def with_queued_and_free_slot(world: World) -> Context:
    """Limit 1: one run waiting, one queued behind it; then the limit is raised to 2 (nothing dispatched)."""
    context = conversation(world)
    waiting_run(world, context)
    queued_run(world, context)
    set_team_limit(world, context, 2)
    return context


def with_stale_run_and_queue(world: World) -> Context:
    """Limit 1: a run waiting past its input deadline, one queued behind it (its queue TTL not passed)."""
    context = conversation(world)
    waiting_run(world, context)
    world.clock.advance(seconds=500)
    queued_run(world, context)
    world.clock.advance(seconds=101)
    return context


def behind_full_workflows(world: World) -> Context:
    """Defect 7's queue: limit 10; 4 workflows at their cap of 1 with 25 runs queued each, then a run of
    a fifth workflow that fits (the 100 clones are inserted directly: the set-up, not the subject)."""
    team = world.team(10)
    runs = world.plain.raw["workflow_runs"]
    for number in range(4):
        context = Context(team, world.workflow(team, conversation_workflow(), cap=1))
        waiting_run(world, context)
        template = runs.find_one({"_id": ObjectId(queued_run(world, context))})
        for clone in range(1, 25):
            queued_at = template["workflow_run"]["queued_at"] + timedelta(milliseconds=100 * number + clone)
            runs.insert_one(
                {**template, "_id": ObjectId(), "workflow_run": {**template["workflow_run"], "queued_at": queued_at}}
            )
        world.clock.advance(seconds=1)
    fits = Context(team, world.workflow(team, conversation_workflow()))
    world.plain.raw["teams"].update_one({"_id": team.caller.team_id}, {"$set": {"max_concurrent_runs": 4}})
    queued_run(world, fits)
    world.plain.raw["teams"].update_one({"_id": team.caller.team_id}, {"$set": {"max_concurrent_runs": 10}})
    return fits


def sqs_message(context: Context) -> dict[str, Any]:
    """The trigger queue's record for one message (a fixed message id: a redelivery is the same record)."""
    body = json.dumps({"workflow_id": context.workflow_id, "idempotency_key": IDEMPOTENCY_KEY})
    return {
        "messageId": "simulation-message-1",
        "receiptHandle": "simulation-receipt-1",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1893499200000", "SenderId": "SIM"},
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:trigger-queue",
        "awsRegion": "us-east-1",
    }


def with_sqs_trigger(world: World) -> Context:
    context = schedulable(world)
    reply = world.api(
        "create_trigger", context.team, path={"workflow_id": context.workflow_id}, body={"type": "sqs", "name": "queue"}
    )
    assert reply.status == 200, reply
    return context


def schedulable(world: World) -> Context:
    team = world.team(2)
    return Context(team, world.workflow(team, report_workflow()))


def with_one_time(world: World) -> Context:
    context = schedulable(world)
    reply = world.api(
        "create_workflow_schedule",
        context.team,
        path={"workflow_id": context.workflow_id},
        body={"scheduled_time": in_minutes(world, 5)},
    )
    assert reply.status == 200, reply
    context.schedule_id = str(reply.body["_id"])
    return context


def with_due_one_time(world: World) -> Context:
    context = with_one_time(world)
    world.clock.advance(minutes=5)
    return context


def with_recurring(world: World, *, enabled: bool = True) -> Context:
    context = schedulable(world)
    body = {"cron_expression": CRON, "timezone": "UTC", "enabled": enabled}
    reply = world.api("create_recurring_schedule", context.team, path={"workflow_id": context.workflow_id}, body=body)
    assert reply.status in (200, 201), reply
    context.schedule_id = str(reply.body["_id"])
    return context


def with_disabled_recurring(world: World) -> Context:
    return with_recurring(world, enabled=False)


def with_due_recurring(world: World) -> Context:
    context = with_recurring(world)
    world.clock.current = world.clock.current.replace(minute=0) + timedelta(hours=1)
    world.eventbridge.horizon = world.clock.now() - timedelta(minutes=1)
    return context


def with_fired_run(world: World) -> Context:
    """A one-time schedule fired: its run admitted and its work message queued for the worker."""
    context = with_due_one_time(world)
    world.eventbridge.fire_due()
    return context


# -- requests -----------------------------------------------------------------------------------


def create_one_time(world: World, context: Context) -> object:
    return world.api(
        "create_workflow_schedule",
        context.team,
        path={"workflow_id": context.workflow_id},
        body={"scheduled_time": "2030-01-01T12:05:00Z"},
        headers={"Idempotency-Key": IDEMPOTENCY_KEY},
    )


def update_one_time(minutes: float) -> Callable[[World, Context], object]:
    def act(world: World, context: Context) -> object:
        time = format_utc(world.clock.now().replace(minute=0, second=0) + timedelta(minutes=minutes))
        return world.api(
            "update_workflow_schedule",
            context.team,
            path={"schedule_id": context.schedule_id},
            body={"scheduled_time": time},
        )

    return act


def cancel_one_time(world: World, context: Context) -> object:
    return world.api("cancel_workflow_schedule", context.team, path={"schedule_id": context.schedule_id})


def create_recurring(world: World, context: Context) -> object:
    return world.api(
        "create_recurring_schedule",
        context.team,
        path={"workflow_id": context.workflow_id},
        body={"cron_expression": CRON, "timezone": "UTC"},
        headers={"Idempotency-Key": IDEMPOTENCY_KEY},
    )


def update_recurring(cron: str) -> Callable[[World, Context], object]:
    def act(world: World, context: Context) -> object:
        return world.api(
            "update_recurring_schedule",
            context.team,
            path={"schedule_id": context.schedule_id},
            body={"cron_expression": cron},
        )

    return act


def recurring_command(route: str) -> Callable[[World, Context], object]:
    def act(world: World, context: Context) -> object:
        return world.api(route, context.team, path={"schedule_id": context.schedule_id})

    return act


def eventbridge_delivers(world: World, context: Context) -> object:
    return world.eventbridge.fire_due()


def eventbridge_gives_up(world: World, context: Context) -> None:
    world.eventbridge.give_up()


def execute_first_turn(world: World, context: Context) -> object:
    return world.api(
        "execute_workflow",
        context.team,
        path={"workflow_id": context.workflow_id},
        body={"run_input": {"command": "start"}},
    )


def execute_later_turn(world: World, context: Context) -> object:
    body = {
        "run_input": {"command": "data", "thread_to_node_inputs": user_message("hello")},
        "run_id": context.run_ids[0],
    }
    return world.api("execute_workflow", context.team, path={"workflow_id": context.workflow_id}, body=body)


def start_run(world: World, context: Context) -> object:
    return world.api(
        "start_or_resume_workflow_run", context.team, body={"command": "start", "workflow_id": context.workflow_id}
    )


def run_command(command: str, *, message: bool = False, run: int = 0) -> Callable[[World, Context], object]:
    def act(world: World, context: Context) -> object:
        return world.api(
            "start_or_resume_workflow_run", context.team, body=run_body(command, context.run_ids[run], message=message)
        )

    return act


def dispatch(world: World, context: Context) -> object:
    return world.services.concurrency.dispatcher.dispatch(context.team.caller.team_id)


def reaper_pass(world: World, context: Context) -> object:
    return world.reaper_pass()


def worker_runs(world: World, context: Context) -> object:
    world.drain_worker()
    return None


def sqs_delivery(world: World, context: Context) -> object:
    from trigger_queue_consumer import handler

    return handler({"Records": [sqs_message(context)]}, None)


def redelivery_after_deletion(world: World, context: Context) -> object:
    """The message's run ends and its user deletes it; then SQS delivers the same message again."""
    sqs_delivery(world, context)
    world.drain_worker()
    (run,) = world.documents("workflow_runs")
    world.api("delete_workflow_run", context.team, path={"workflow_run_id": str(run["_id"])})
    return sqs_delivery(world, context)


def with_scheduled_and_triggered(world: World) -> Context:
    """A workflow with a pending one-time schedule, a recurring schedule and an SQS trigger."""
    context = with_one_time(world)
    body = {"cron_expression": CRON, "timezone": "UTC"}
    reply = world.api("create_recurring_schedule", context.team, path={"workflow_id": context.workflow_id}, body=body)
    assert reply.status in (200, 201), reply
    reply = world.api(
        "create_trigger", context.team, path={"workflow_id": context.workflow_id}, body={"type": "sqs", "name": "queue"}
    )
    assert reply.status == 200, reply
    return context


def delete_workflow(world: World, context: Context) -> object:
    return world.api("delete_workflow", context.team, path={"workflow_id": context.workflow_id})


def nothing_of_the_deleted_workflow_lives_on(world: World, context: Context) -> list[Any]:
    """I8: a workflow whose deletion began (the request retried or not) ends with no document, no live
    schedule and no trigger."""
    from tests.simulation.invariants import Violation

    name, workflow_id = f"deleted workflow {context.workflow_id}", context.workflow_id
    found = []
    documents = world.documents("workflows", {"_id": ObjectId(workflow_id)})
    if documents and documents[0].get("deleted_at") is None:
        return found  # the request died before its first write, and was not retried: nothing was deleted
    if documents:
        found.append(Violation("I8", f"{name}: its document is still there"))
    for schedule in world.documents("workflow_schedules", {"workflow_id": workflow_id}):
        if schedule.get("status") != "cancelled":
            found.append(Violation("I8", f"{name}: one-time schedule {schedule['_id']} is {schedule.get('status')}"))
    if world.documents("recurring_schedules", {"workflow_id": workflow_id, "deleted_at": None}):
        found.append(Violation("I8", f"{name}: a recurring schedule lives on"))
    if world.documents("workflow_triggers", {"workflow_id": workflow_id}):
        found.append(Violation("I8", f"{name}: a trigger lives on"))
    return found


def dead_letter(world: World, context: Context) -> None:
    """The work message's receives are spent: it leaves for the dead-letter queue."""
    for record in world.work_queue.receive(10):
        world.work_queue.delete(record["receiptHandle"])


OPERATIONS: tuple[Operation, ...] = (
    Operation("create one-time", schedulable, create_one_time, single_schedule=True),
    Operation("update one-time", with_one_time, update_one_time(8)),
    Operation("cancel one-time", with_one_time, cancel_one_time),
    Operation("create recurring", schedulable, create_recurring, single_schedule=True),
    Operation("update recurring", with_recurring, update_recurring(MOVED_CRON)),
    Operation("enable recurring", with_disabled_recurring, recurring_command("enable_recurring_schedule")),
    Operation("disable recurring", with_recurring, recurring_command("disable_recurring_schedule")),
    Operation("delete recurring", with_recurring, recurring_command("delete_recurring_schedule")),
    Operation("fire one-time", with_due_one_time, eventbridge_delivers, eventbridge_gives_up),
    Operation("fire recurring", with_due_recurring, eventbridge_delivers, eventbridge_gives_up),
    Operation("execute first turn", lambda world: conversation(world), execute_first_turn),
    Operation("execute later turn", with_waiting, execute_later_turn),
    Operation("start", lambda world: conversation(world), start_run),
    Operation("resume", with_paused, run_command("resume", message=True)),
    Operation("pause", with_waiting, run_command("pause")),
    Operation("stop", with_waiting, run_command("stop")),
    Operation("data", with_waiting, run_command("data", message=True)),
    Operation("dispatch", with_queued_and_free_slot, dispatch),
    Operation("reaper pass", with_stale_run_and_queue, reaper_pass),
    Operation("run finalize", with_fired_run, worker_runs, dead_letter),
    Operation("SQS trigger delivery", with_sqs_trigger, sqs_delivery),
    Operation(
        "delete workflow", with_scheduled_and_triggered, delete_workflow, check=nothing_of_the_deleted_workflow_lives_on
    ),
    Operation("dispatch behind full workflows", behind_full_workflows, dispatch, crash_points=False),
    Operation("SQS redelivery after run deletion", with_sqs_trigger, redelivery_after_deletion, crash_points=False),
)
