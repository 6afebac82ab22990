"""DST nights: the compensating at() schedules and the dropped native deliveries (issue 14).

New York's clocks fall back at 06:00Z on 3 November 2030, so ``30 1 * * *`` names 01:30 twice
(05:30Z and 06:30Z). The schedules here want the second instant (or both), while the emulated
EventBridge fires the repeated time natively at the first one: the native delivery inside the window
must be dropped and the compensating at() schedule must fire the wanted instant, once, whatever
crashes in between. The writes that create, replace and renew compensating schedules are crashed at
every step like any other multi-write operation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.simulation.pairs import Pair
from tests.simulation.scenarios import (
    IDEMPOTENCY_KEY,
    Context,
    Operation,
    eventbridge_delivers,
    eventbridge_gives_up,
    reaper_pass,
    schedulable,
)
from tests.simulation.world import World

ZONE = "America/New_York"
CRON = "30 1 * * *"
FALL_BACK_AT = datetime(2030, 11, 3, 6, 0, tzinfo=UTC)
WRITTEN_AT = datetime(2030, 10, 20, 12, 0, tzinfo=UTC)  # within 35 days of the transition


def _body(fall_back: str) -> dict[str, Any]:
    return {"cron_expression": CRON, "timezone": ZONE, "dst_policy": {"fall_back": fall_back}}


def schedulable_before_the_night(world: World) -> Context:
    world.clock.current = WRITTEN_AT
    world.eventbridge.horizon = WRITTEN_AT
    return schedulable(world)


def with_dst_recurring(world: World, fall_back: str = "second") -> Context:
    context = schedulable_before_the_night(world)
    reply = world.api(
        "create_recurring_schedule", context.team, path={"workflow_id": context.workflow_id}, body=_body(fall_back)
    )
    assert reply.status == 200, reply
    context.schedule_id = str(reply.body["_id"])
    return context


def with_the_repeated_hour_due(world: World) -> Context:
    """Both 01:30s have passed: the native delivery (05:30Z) and the compensating one (06:30Z) are due."""
    context = with_dst_recurring(world)
    world.clock.current = FALL_BACK_AT + timedelta(minutes=31)
    world.eventbridge.horizon = FALL_BACK_AT - timedelta(hours=1)
    return context


def with_plan_due_for_renewal(world: World) -> Context:
    """Written 50 days before the night: nothing planned yet; the reaper's review is due."""
    world.clock.current = FALL_BACK_AT - timedelta(days=50)
    world.eventbridge.horizon = world.clock.current
    context = schedulable(world)
    reply = world.api(
        "create_recurring_schedule", context.team, path={"workflow_id": context.workflow_id}, body=_body("both")
    )
    assert reply.status == 200, reply
    context.schedule_id = str(reply.body["_id"])
    world.clock.current = FALL_BACK_AT - timedelta(days=33)
    world.eventbridge.horizon = world.clock.current
    return context


def create_dst_recurring(world: World, context: Context) -> object:
    return world.api(
        "create_recurring_schedule",
        context.team,
        path={"workflow_id": context.workflow_id},
        body=_body("both"),
        headers={"Idempotency-Key": IDEMPOTENCY_KEY},
    )


def change_fall_back(fall_back: str) -> Callable[[World, Context], object]:
    def act(world: World, context: Context) -> object:
        return world.api(
            "update_recurring_schedule",
            context.team,
            path={"schedule_id": context.schedule_id},
            body={"dst_policy": {"fall_back": fall_back}},
        )

    return act


def disable(world: World, context: Context) -> object:
    return world.api("disable_recurring_schedule", context.team, path={"schedule_id": context.schedule_id})


# The firing path (a native delivery dropped, the compensating one fired), the reconciler's renewal,
# and the writers' paths (create, change the policy either way, disable), each crashed at every step.
OPERATIONS: tuple[Operation, ...] = (
    Operation("fire through a DST window", with_the_repeated_hour_due, eventbridge_delivers, eventbridge_gives_up),
    Operation("reaper renews DST compensations", with_plan_due_for_renewal, reaper_pass),
    Operation(
        "create recurring with DST compensations",
        schedulable_before_the_night,
        create_dst_recurring,
        single_schedule=True,
    ),
    Operation("update DST policy", lambda world: with_dst_recurring(world), change_fall_back("both")),
    # The compensating at() of the second 01:30 is no longer wanted: AWS must not keep it.
    Operation("update DST policy, dropping a compensation", with_dst_recurring, change_fall_back("first")),
    Operation("disable recurring with DST compensations", lambda world: with_dst_recurring(world), disable),
)
PAIRS: tuple[Pair, ...] = ()
