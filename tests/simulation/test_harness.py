"""The simulation harness itself, on tiny cases: crash plans, the interleaving enumerator, the
deadlock guard and an invariant check. No services, no moto: milliseconds."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest

from tests.simulation.crashes import CrashPlan, CrashPoint, SimulatedCrash
from tests.simulation.interception import Interceptor
from tests.simulation.interleaving import BatonController, Decision, HarnessError, enumerate_schedules
from tests.simulation.invariants import check_no_side_effect_after_stop, check_slots


def three_calls(interceptor: Interceptor, done: list[int]) -> None:
    for number in (1, 2, 3):
        interceptor.call("store", f"c.write{number}", lambda number=number: done.append(number), writes=True)


@pytest.mark.parametrize(("point", "effects"), [(CrashPoint.BEFORE, [1]), (CrashPoint.AFTER, [1, 2])])
def test_a_crash_plan_crashes_exactly_at_step_k_and_the_operation_stays_dead(point, effects):
    # Given an operation of three writes and a plan crashing it at its second step
    interceptor, done = Interceptor(), []
    plan = CrashPlan("op", 2, point)
    interceptor.hooks.append(plan)

    # When it runs
    with interceptor.acting_as("op"), pytest.raises(SimulatedCrash):
        three_calls(interceptor, done)

    # Then the writes before the crash point took effect and nothing after it did
    assert done == effects
    assert plan.crashed
    # and every later call of the same actor raises before doing anything (compensation cannot write)
    with interceptor.acting_as("op"), pytest.raises(SimulatedCrash):
        interceptor.call("store", "c.undo", lambda: done.append(99), writes=True)
    assert 99 not in done
    # while another actor (the retry, the reaper) is not affected
    with interceptor.acting_as("retry"):
        interceptor.call("store", "c.retry", lambda: done.append(7), writes=True)
    assert done[-1] == 7


def test_calls_without_an_actor_are_not_steps():
    interceptor = Interceptor()
    interceptor.hooks.append(CrashPlan("op", 1, CrashPoint.BEFORE))
    assert interceptor.call("store", "c.setup", lambda: 5, writes=True) == 5
    assert interceptor.trace == []


def two_step_pair(order: list[str]) -> Callable[[Sequence[str]], tuple[list[Decision], object]]:
    def run_one(prefix: Sequence[str]) -> tuple[list[Decision], object]:
        interceptor = Interceptor()
        executed: list[str] = []

        def operation(name: str) -> Callable[[], None]:
            def body() -> None:
                for step in (1, 2):
                    label = f"{name}{step}"
                    interceptor.call("store", label, lambda label=label: executed.append(label), writes=True)

            return body

        controller = BatonController(interceptor, {"a": operation("a"), "b": operation("b")}, prefix)
        controller.run()
        order.append("".join(executed))
        return controller.decisions, None

    return run_one


def test_the_enumerator_runs_every_interleaving_of_two_two_step_operations_exactly_once():
    # Given two operations of two steps each
    orders: list[str] = []

    # When every schedule with at most 2 preemptions is enumerated
    schedules = list(enumerate_schedules(two_step_pair(orders), bound=2))

    # Then all 6 interleavings ran, each exactly once
    assert sorted(orders) == sorted(["a1a2b1b2", "a1b1a2b2", "a1b1b2a2", "b1a1a2b2", "b1a1b2a2", "b1b2a1a2"])
    assert len(schedules) == 6


def test_the_preemption_bound_limits_the_schedules():
    orders: list[str] = []
    list(enumerate_schedules(two_step_pair(orders), bound=0))
    # Without preemption an operation runs to its end once it started
    assert sorted(orders) == ["a1a2b1b2", "b1b2a1a2"]


def test_a_thread_blocked_outside_a_step_is_reported_as_a_harness_error_not_a_hang():
    # Given an operation that blocks on something the controller does not control
    interceptor, blocker = Interceptor(), threading.Event()

    def stuck() -> None:
        interceptor.call("store", "first", lambda: None, writes=True)
        blocker.wait(5)

    controller = BatonController(interceptor, {"a": stuck}, step_timeout=0.2)

    # When it runs, then the case fails with a harness error within the step timeout
    with pytest.raises(HarnessError, match="deadlock"):
        controller.run()
    blocker.set()


class DocumentsOnly:
    """Just enough of a world for the invariant checks that only read documents."""

    def __init__(self, collections: dict[str, list[dict[str, Any]]]) -> None:
        self._collections = collections

    def documents(self, collection: str, selector: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return list(self._collections.get(collection, []))


def run_document(run_id: str, status: str) -> dict[str, Any]:
    return {"_id": run_id, "team_id": "t1", "workflow_run": {"status": status, "workflow_id": "w1"}}


def test_i1_flags_a_lease_holder_with_no_run_and_a_slot_holding_run_without_a_lease():
    # Given a lease held by a run that does not exist, and a waiting run holding no lease
    world = DocumentsOnly(
        {
            "teams": [{"_id": "t1", "max_concurrent_runs": 1}],
            "concurrency_leases": [{"_id": "team:t1", "holders": ["ghost"]}],
            "workflow_runs": [run_document("r1", "waiting_for_user_input")],
        }
    )
    # When I1 is checked, then both halves of the mismatch are named
    (violation, *_) = check_slots(world)  # type: ignore[arg-type]
    assert violation.invariant == "I1"
    assert "['ghost']" in violation.detail and "['r1']" in violation.detail


def test_i1_accepts_leases_that_match_the_slot_holding_runs():
    world = DocumentsOnly(
        {
            "teams": [{"_id": "t1", "max_concurrent_runs": 1}],
            "concurrency_leases": [{"_id": "team:t1", "holders": ["r1"]}, {"_id": "workflow:w1", "holders": ["r1"]}],
            "workflow_runs": [run_document("r1", "running"), run_document("r2", "paused")],
        }
    )
    assert check_slots(world) == []  # type: ignore[arg-type]


def test_i6_flags_an_llm_call_after_a_stop_the_turn_could_have_observed():
    # Given a turn that claimed the run, a stop that cancelled it, then the turn took its slot and called the LLM
    interceptor = Interceptor()
    for actor, kind, target, collection in [
        ("turn", "store", "workflow_runs.find_one_and_update", "workflow_runs"),
        ("stop", "store", "workflow_runs.find_one_and_update", "workflow_runs"),
        ("turn", "store", "concurrency_leases.update_one", "concurrency_leases"),
        ("turn", "llm", "llm.complete", None),
    ]:
        with interceptor.acting_as(actor):
            interceptor.call(
                kind,
                target,
                lambda: None,
                writes=True,
                collection=collection,
                document="r1" if collection == "workflow_runs" else None,
            )

    # Then I6 names the call; had the stop come after the slot, the turn could not have seen it
    assert [v.invariant for v in check_no_side_effect_after_stop(interceptor.trace, "stop", "turn", "r1")] == ["I6"]
    late_stop = [interceptor.trace[0], interceptor.trace[2], interceptor.trace[1], interceptor.trace[3]]
    reordered = [replace(step, index=index) for index, step in enumerate(late_stop)]
    assert check_no_side_effect_after_stop(reordered, "stop", "turn", "r1") == []
