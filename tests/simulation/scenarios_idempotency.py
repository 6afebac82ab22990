"""A keyed recurring create, crashed at every point, whose schedule the user deletes before the client's
retry: the retry must not make the deleted schedule again, nor leave anything in EventBridge, while a
create that crashed before making anything is still completed by it (``check_deleted_stays_deleted``
besides the shared invariants). Without a retry, what the crash left converges as for any create."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.simulation.invariants import Violation
from tests.simulation.scenarios import Context, Operation, create_recurring, schedulable
from tests.simulation.world import World


@dataclass
class DeletingContext(Context):
    attempts: int = 0
    deleted: list[str] = field(default_factory=list)


def schedulable_for_deletion(world: World) -> DeletingContext:
    context = schedulable(world)
    return DeletingContext(context.team, context.workflow_id)


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


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "create recurring, deleted before the retry",
        schedulable_for_deletion,
        create_deleted_before_its_retry,
        single_schedule=True,
        check=check_deleted_stays_deleted,
    ),
)
