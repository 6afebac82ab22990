"""Keyed creates, crashed at every point, whose object the user deletes before the client's retry.

- a recurring schedule: the retry must not make the deleted schedule again, nor leave anything in
  EventBridge (``check_deleted_stays_deleted``);
- a run started with an ``Idempotency-Key``: the retry must not start the deleted run again, while a
  start that crashed before its run was inserted is still completed by it, exactly once, with the id
  the key reserved (``check_deleted_run_stays_deleted``).

Besides the shared invariants. Without a retry, what the crash left converges as for any create.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.simulation.invariants import Violation
from tests.simulation.scenarios import IDEMPOTENCY_KEY, Context, Operation, conversation, create_recurring, schedulable
from tests.simulation.world import World
from workflow_service.idempotency import IDEMPOTENCY_SOURCE

START_ROUTE = "start_or_resume_workflow_run"


@dataclass
class DeletingContext(Context):
    attempts: int = 0
    deleted: list[str] = field(default_factory=list)


def for_deletion(prepare: Callable[[World], Context]) -> Callable[[World], DeletingContext]:
    def prepared(world: World) -> DeletingContext:
        context = prepare(world)
        return DeletingContext(context.team, context.workflow_id)

    return prepared


def create_deleted_before_its_retry(world: World, context: Context) -> object:
    """First call: the keyed create. Later calls (the client's retry): the user first deletes every
    schedule the team's listing shows (what the lost answer would have named), then the retry."""
    assert isinstance(context, DeletingContext)
    context.attempts += 1
    if context.attempts > 1:
        listed = world.api("list_recurring_schedules", context.team, query={"workflow_id": context.workflow_id})
        for schedule in listed.body["recurring_schedules"]:
            deleted = world.api("delete_recurring_schedule", context.team, path={"schedule_id": schedule["_id"]})
            if deleted.status in (200, 204):
                context.deleted.append(schedule["_id"])
    return create_recurring(world, context)


def check_deleted_stays_deleted(world: World, context: Context) -> list[Violation]:
    """A schedule deleted before the retry exists neither in MongoDB (live) nor in EventBridge after it."""
    assert isinstance(context, DeletingContext)
    live = {str(document["_id"]) for document in world.documents("recurring_schedules", {"deleted_at": None})}
    held = set(world.eventbridge.names())
    return [
        Violation("deleted stays deleted", f"recurring schedule {schedule_id} made again by the retry")
        for schedule_id in context.deleted
        if schedule_id in live or any(schedule_id in name for name in held)
    ]


def start_deleted_before_its_retry(world: World, context: Context) -> object:
    """First call: the keyed start. Later calls (the client's retry): the user first deletes every run
    the team's listing shows (what the lost answer would have named), then the retry."""
    assert isinstance(context, DeletingContext)
    context.attempts += 1
    if context.attempts > 1:
        listed = world.api("list_workflow_runs", context.team, query={"workflow_id": context.workflow_id})
        for run in listed.body["workflow_runs"]:
            deleted = world.api("delete_workflow_run", context.team, path={"workflow_run_id": run["_id"]})
            if deleted.status == 200:
                context.deleted.append(run["_id"])
    return world.api(
        START_ROUTE,
        context.team,
        body={"command": "start", "workflow_id": context.workflow_id},
        headers={"Idempotency-Key": IDEMPOTENCY_KEY},
    )


def check_deleted_run_stays_deleted(world: World, context: Context) -> list[Violation]:
    """After a retry, a run deleted before it does not exist; with nothing deleted (the first attempt
    crashed before inserting its run), exactly one run does, with the id the key reserved."""
    assert isinstance(context, DeletingContext)
    runs = [str(document["_id"]) for document in world.documents("workflow_runs")]
    found = [
        Violation("deleted stays deleted", f"run {run_id} started again by the retry")
        for run_id in context.deleted
        if run_id in runs
    ]
    if context.attempts > 1 and not context.deleted:
        key = f"{IDEMPOTENCY_SOURCE}:{context.team.caller.team_id}:{START_ROUTE}:{IDEMPOTENCY_KEY}"
        (record,) = world.documents("dedupe_records", {"_id": key}) or [{"target_id": None}]
        if runs != [record["target_id"]]:
            found.append(Violation("crash recovery", f"runs {runs} after the retry, not the reserved run alone"))
    return found


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "create recurring, deleted before the retry",
        for_deletion(schedulable),
        create_deleted_before_its_retry,
        single_schedule=True,
        check=check_deleted_stays_deleted,
    ),
    Operation(
        "keyed start, deleted before the retry",
        for_deletion(conversation),
        start_deleted_before_its_retry,
        check=check_deleted_run_stays_deleted,
    ),
)
