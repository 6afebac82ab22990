"""The racing pairs whose interleavings are enumerated: two requests on the same run or schedule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bson import ObjectId

from tests.simulation import scenarios as s
from tests.simulation.world import World


@dataclass(frozen=True)
class Pair:
    """``first`` and ``second`` (sides A and B, and C when ``third`` is given) race from ``prepare``'s
    world. ``stop_side``: the side that stops run 0 while the other executes a turn on it (I6)."""

    name: str
    prepare: Callable[[World], s.Context]
    first: Callable[[World, s.Context], object]
    second: Callable[[World, s.Context], object]
    stop_side: str | None = None
    third: Callable[[World, s.Context], object] | None = None
    max_preemptions: int = 3  # the three-party race stays at 2 even in the full set (it grows fastest)

    def sides(self, world: World, context: s.Context) -> dict[str, Callable[[], object]]:
        racing = {"A": self.first, "B": self.second} | ({"C": self.third} if self.third else {})
        return {side: (lambda act=act: act(world, context)) for side, act in racing.items()}


def with_waiting_and_queued(world: World) -> s.Context:
    """Limit 1: run 0 waiting (holding the slot), run 1 queued behind it."""
    context = s.conversation(world)
    s.waiting_run(world, context)
    s.queued_run(world, context)
    return context


def leave_slot_quietly(world: World, run_id: str, status: str) -> None:
    """Set-up only: move a run to ``status`` and free its slot WITHOUT the dispatch that would follow,
    so the racing operations find the queue as it was."""
    world.plain.raw["workflow_runs"].update_one(
        {"_id": ObjectId(run_id)},
        {
            "$set": {
                "workflow_run.status": status,
                "workflow_run.claim": None,
                "workflow_run.heartbeat_deadline_at": None,
                "workflow_run.input_deadline_at": None,
                "workflow_run.finished_at": world.clock.now(),
            }
        },
    )
    world.plain.raw["concurrency_leases"].update_many(
        {"holders": run_id}, {"$pull": {"holders": run_id}, "$unset": {f"since.{run_id}": ""}}
    )


def with_paused_and_queued(world: World) -> s.Context:
    """Limit 1: run 0 paused (by its user), run 1 queued and not yet dispatched: queued behind a third
    run that then left its slot without a dispatch."""
    context = s.conversation(world)
    paused = s.paused_run(world, context)
    holder = s.waiting_run(world, context)
    s.queued_run(world, context)
    leave_slot_quietly(world, holder, "cancelled")
    context.run_ids.remove(holder)
    assert context.run_ids[0] == paused
    return context


def with_queued(world: World, count: int) -> s.Context:
    """Limit 1 and a free slot: ``count`` queued runs (queued while another run held the slot)."""
    context = s.conversation(world)
    holder = s.waiting_run(world, context)
    for _ in range(count):
        s.queued_run(world, context)
    leave_slot_quietly(world, holder, "cancelled")
    context.run_ids.remove(holder)
    return context


def with_two_queued(world: World) -> s.Context:
    return with_queued(world, 2)


def with_one_queued(world: World) -> s.Context:
    return with_queued(world, 1)


def with_expiring_waiting(world: World) -> s.Context:
    context = s.with_waiting(world)
    world.clock.advance(seconds=601)
    return context


def dispatch_then_pause(world: World, context: s.Context) -> object:
    """A second dispatcher starts the queued run, then its user pauses it."""
    s.dispatch(world, context)
    return s.run_command("pause")(world, context)


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
    # Defect 2 needs three parties: the dispatcher that loses the start, the start and pause it loses
    # to, and the resume whose lease the loser then releases.
    Pair(
        "dispatcher x pause x resume",
        with_one_queued,
        s.dispatch,
        dispatch_then_pause,
        third=s.run_command("resume", message=True),
        max_preemptions=2,
    ),
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
