"""The racing pairs whose interleavings are enumerated: two requests on the same run or schedule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.simulation import scenarios as s
from tests.simulation.world import World


@dataclass(frozen=True)
class Pair:
    """``first`` and ``second`` race from ``prepare``'s world. ``stop_side``: the side that stops
    run 0 while the other executes a turn on it (I6 is checked then)."""

    name: str
    prepare: Callable[[World], s.Context]
    first: Callable[[World, s.Context], object]
    second: Callable[[World, s.Context], object]
    stop_side: str | None = None


def with_waiting_and_queued(world: World) -> s.Context:
    """Limit 1: run 0 waiting (holding the slot), run 1 queued behind it."""
    context = s.conversation(world)
    s.waiting_run(world, context)
    s.queued_run(world, context)
    return context


def with_paused_and_queued(world: World) -> s.Context:
    """Limit 1: run 0 paused, run 1 queued and not yet dispatched (the pause's dispatch came first)."""
    context = s.conversation(world)
    s.waiting_run(world, context)
    s.queued_run(world, context)
    world.plain.raw["teams"].update_one({"_id": context.team.caller.team_id}, {"$set": {"max_concurrent_runs": 0}})
    with world.acting_as(None):
        reply = world.api("start_or_resume_workflow_run", context.team, body=s.run_body("pause", context.run_ids[0]))
    assert reply.status == 200, reply
    s.set_team_limit(world, context, 1)
    return context


def with_two_queued(world: World) -> s.Context:
    """Limit 1 and a free slot: two queued runs (queued while a third run held the slot, now stopped)."""
    context = s.conversation(world)
    holder = s.waiting_run(world, context)
    s.queued_run(world, context)
    s.queued_run(world, context)
    world.plain.raw["teams"].update_one({"_id": context.team.caller.team_id}, {"$set": {"max_concurrent_runs": 0}})
    reply = world.api("start_or_resume_workflow_run", context.team, body=s.run_body("stop", holder))
    assert reply.status == 200, reply
    s.set_team_limit(world, context, 1)
    context.run_ids.remove(holder)
    return context


def with_expiring_waiting(world: World) -> s.Context:
    context = s.with_waiting(world)
    world.clock.advance(seconds=601)
    return context


def fire_once(world: World, context: s.Context) -> object:
    event = {"schedule_id": context.schedule_id, "kind": "one_time", "scheduled_time": "2030-01-01T12:05:00Z"}
    return world.fire(event)


def fire_recurring(world: World, context: s.Context) -> object:
    event = {"schedule_id": context.schedule_id, "kind": "recurring", "scheduled_time": "2030-01-01T13:00:00Z"}
    return world.fire(event)


PAIRS: tuple[Pair, ...] = (
    Pair("pause x resume", with_waiting_and_queued, s.run_command("pause"), s.run_command("resume", message=True)),
    Pair("stop x resume", s.with_paused, s.run_command("stop"), s.run_command("resume", message=True), stop_side="A"),
    Pair("stop x turn", s.with_waiting, s.run_command("stop"), s.run_command("data", message=True), stop_side="A"),
    Pair("reaper x turn", with_expiring_waiting, s.reaper_pass, s.run_command("data", message=True)),
    Pair("dispatcher x resume", with_paused_and_queued, s.dispatch, s.run_command("resume", message=True)),
    Pair("dispatcher x dispatcher", with_two_queued, s.dispatch, s.dispatch),
    Pair("update x update (one-time)", s.with_one_time, s.update_one_time(8), s.update_one_time(9)),
    Pair(
        "update x update (recurring)",
        s.with_recurring,
        s.update_recurring(s.MOVED_CRON),
        s.update_recurring("15 * * * *"),
    ),
    Pair(
        "enable x update",
        s.with_disabled_recurring,
        s.recurring_command("enable_recurring_schedule"),
        s.update_recurring(s.MOVED_CRON),
    ),
    Pair("fire x cancel", s.with_due_one_time, fire_once, s.cancel_one_time),
    Pair("fire x fire (one-time)", s.with_due_one_time, fire_once, fire_once),
    Pair("fire x fire (recurring)", s.with_due_recurring, fire_recurring, fire_recurring),
)
