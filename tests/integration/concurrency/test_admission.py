"""Admission against the serialized in-memory store: limits hold under threads, slots are leases.

mongomock is not thread-safe, so the store runs every operation under one lock: each operation is
atomic, exactly like a single-document write on MongoDB. What these tests prove is therefore that the
algorithm needs nothing more than single-document atomicity — no read-then-write in Python, no
transaction — to never admit more runs than the limit.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter

from bson import ObjectId

from tests.integration.concurrency.helpers import holders, make_team, make_workflow
from workflow_service.adapters.mongo.leases import MongoLeaseStore
from workflow_service.models.concurrency import LeaseScope

THREADS = 8
ROUNDS = 50


def new_run_id() -> str:
    return str(ObjectId())


def contend(
    services, team_id: str, workflow_ids: list[str], *, workflow_caps: dict[str, int] | None = None
) -> list[Counter[str]]:
    """THREADS threads, ROUNDS rounds. In each round every thread asks for a slot at the same moment
    (a barrier), all decisions are made before anyone releases (a second barrier), then the granted
    runs release. Returns, per round, how many runs were granted per workflow (and "team": total).
    With ``workflow_caps`` each request passes its workflow's cap along (both holds in one batch)."""
    admission = services.concurrency.admission
    start, decided, released = (threading.Barrier(THREADS) for _ in range(3))
    rounds: list[Counter[str]] = [Counter() for _ in range(ROUNDS)]
    observed_team_holders: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        workflow_id = workflow_ids[index % len(workflow_ids)]
        try:
            for number in range(ROUNDS):
                run_id = new_run_id()
                start.wait()
                cap = None if workflow_caps is None else workflow_caps[workflow_id]
                decision = admission.try_acquire(team_id, workflow_id, run_id, workflow_limit=cap)
                granted = decision.granted
                if granted:
                    with lock:
                        rounds[number]["team"] += 1
                        rounds[number][workflow_id] += 1
                decided.wait()
                if index == 0:
                    observed_team_holders.append(len(holders(services, f"team:{team_id}")))
                released.wait()
                if granted:
                    admission.release(team_id, workflow_id, run_id, decision.token)
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)
            for barrier in (start, decided, released):
                barrier.abort()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(THREADS)]
    # Switch threads as often as the interpreter allows, so operations of different threads interleave
    # between any two store calls (a check-then-act admission fails this test within a few rounds).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors
    assert observed_team_holders == [rounds[number]["team"] for number in range(ROUNDS)]
    return rounds


def test_team_limit_is_never_exceeded_and_every_free_slot_is_used(services):
    # Given a team limited to 3 concurrent runs and a workflow without a cap of its own
    team_id = make_team(services, limit=3)
    workflow_id = make_workflow(services, team_id, cap=0)
    # When 8 threads ask for a slot at the same moment, 50 times
    rounds = contend(services, team_id, [workflow_id])
    # Then every round admits exactly 3: never more (over-admission), never fewer (a lost free slot)
    assert [round_["team"] for round_ in rounds] == [3] * ROUNDS
    # And every slot was given back
    assert holders(services, f"team:{team_id}") == [] and holders(services, f"workflow:{workflow_id}") == []


def test_workflow_cap_is_never_exceeded_and_refused_runs_give_back_their_team_slot(services):
    # Given a team limit of 5 and a workflow capped at 2
    team_id = make_team(services, limit=5)
    workflow_id = make_workflow(services, team_id, cap=2)
    # When 8 threads contend for it
    rounds = contend(services, team_id, [workflow_id])
    # Then exactly 2 are admitted each round, and the 6 refused by the workflow hold no team slot
    # (contend() checks the team lease had exactly as many holders as runs were granted)
    assert [round_["team"] for round_ in rounds] == [2] * ROUNDS


def test_team_and_workflow_limits_together(services):
    # Given a team limit of 3 and two workflows capped at 2 each, 4 threads on each
    team_id = make_team(services, limit=3)
    first, second = make_workflow(services, team_id, cap=2), make_workflow(services, team_id, cap=2)
    rounds = contend(services, team_id, [first, second])
    # Then no round goes over the team's 3 slots or over 2 per workflow, and every round admits someone.
    # (Fewer than 3 is possible and correct: a run refused by its workflow holds a team slot for a moment
    # before giving it back, and a run of the other workflow asking at that moment is refused. It stays
    # queued and the next dispatch or reaper sweep admits it; what must never happen is going over.)
    assert all(1 <= round_["team"] <= 3 for round_ in rounds)
    assert all(round_[first] <= 2 and round_[second] <= 2 for round_ in rounds)
    assert all(round_[first] + round_[second] == round_["team"] for round_ in rounds)


def test_refusal_names_the_scope_limit_and_holders_and_leaves_no_trace(services):
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    holder, refused = new_run_id(), new_run_id()
    assert services.concurrency.admission.try_acquire(team_id, workflow_id, holder).granted
    decision = services.concurrency.admission.try_acquire(team_id, workflow_id, refused)
    assert (decision.granted, decision.scope, decision.limit, decision.holders) == (False, "team", 1, (holder,))
    assert holders(services, f"team:{team_id}") == [holder]
    assert holders(services, f"workflow:{workflow_id}") == [holder]


def test_workflow_refusal_reports_the_workflow_and_releases_the_team_slot(services):
    team_id = make_team(services, limit=5)
    workflow_id = make_workflow(services, team_id, cap=1)
    holder, refused = new_run_id(), new_run_id()
    assert services.concurrency.admission.try_acquire(team_id, workflow_id, holder).granted
    decision = services.concurrency.admission.try_acquire(team_id, workflow_id, refused)
    assert (decision.granted, decision.scope, decision.limit, decision.holders) == (False, "workflow", 1, (holder,))
    assert holders(services, f"team:{team_id}") == [holder]


def test_acquire_and_release_are_idempotent(services):
    # Given a full team (limit 1) whose only slot run A holds
    team_id = make_team(services, limit=1)
    workflow_id = make_workflow(services, team_id)
    run_id = new_run_id()
    assert services.concurrency.admission.try_acquire(team_id, workflow_id, run_id).granted
    # When A asks again (a redelivery, a second dispatcher): granted, still one slot used
    token = services.concurrency.admission.try_acquire(team_id, workflow_id, run_id).token
    assert holders(services, f"team:{team_id}") == [run_id]
    # And releasing twice (with the latest grant's token) frees the slot once, without error
    services.concurrency.admission.release(team_id, workflow_id, run_id, token)
    services.concurrency.admission.release(team_id, workflow_id, run_id, token)
    assert holders(services, f"team:{team_id}") == []
    assert services.concurrency.admission.try_acquire(team_id, workflow_id, new_run_id()).granted


def test_an_uncapped_workflow_still_records_its_holders(services):
    team_id = make_team(services, limit=2)
    workflow_id = make_workflow(services, team_id, cap=0)
    runs = [new_run_id(), new_run_id()]
    for run_id in runs:
        assert services.concurrency.admission.try_acquire(team_id, workflow_id, run_id).granted
    assert holders(services, f"workflow:{workflow_id}") == runs


def test_a_lowered_limit_admits_nobody_until_holders_drop_below_it(services):
    team_id = make_team(services, limit=3)
    workflow_id = make_workflow(services, team_id)
    held = {new_run_id(): "" for _ in range(3)}
    for run_id in held:
        held[run_id] = services.concurrency.admission.try_acquire(team_id, workflow_id, run_id).token
    assert all(held.values())
    services.auth.service.set_team_limit(team_id, 1)
    assert not services.concurrency.admission.try_acquire(team_id, workflow_id, new_run_id()).granted
    for run_id, token in held.items():
        services.concurrency.admission.release(team_id, workflow_id, run_id, token)
    assert services.concurrency.admission.try_acquire(team_id, workflow_id, new_run_id()).granted


def test_the_limit_is_enforced_by_the_update_filter_not_by_the_caller(services):
    # Given a lease document that already has 2 holders
    store = MongoLeaseStore(services.core.database)
    now = services.core.clock.now()
    assert store.try_hold(LeaseScope.TEAM, "t1", "t1", "a", 2, now).granted
    assert store.try_hold(LeaseScope.TEAM, "t1", "t1", "b", 2, now).granted
    before = services.core.database.raw["concurrency_leases"].find_one({"_id": "team:t1"})
    # When a third run is offered with limit 2: the conditional update matches nothing, and the upsert
    # it falls back to collides with the existing _id, so nothing is written
    refused = store.try_hold(LeaseScope.TEAM, "t1", "t1", "c", 2, now)
    assert (refused.granted, refused.holders) == (False, ("a", "b"))
    assert services.core.database.raw["concurrency_leases"].find_one({"_id": "team:t1"}) == before
    # And with a higher limit the same call succeeds: the limit lives only in the filter
    assert store.try_hold(LeaseScope.TEAM, "t1", "t1", "c", 3, now).granted


def test_admission_and_release_round_trips(services):
    """The counts the benchmark reports: admission = limit reads + one conditional write per lease."""
    team_id = make_team(services, limit=2)
    workflow_id = make_workflow(services, team_id, cap=1)
    counter = services.core.database.counter
    run_id = new_run_id()
    counter.reset()
    token = services.concurrency.admission.try_acquire(team_id, workflow_id, run_id).token
    assert counter.total == 4  # team limit, team lease, workflow limit, workflow lease
    counter.reset()
    services.concurrency.admission.release(team_id, workflow_id, run_id, token)
    assert counter.total == 1  # one update_many over both lease documents
    # A refusal by the team: limit read, the conditional update (its upsert collides), the holders read
    services.auth.service.set_team_limit(team_id, 1)
    assert services.concurrency.admission.try_acquire(team_id, workflow_id, new_run_id()).granted
    counter.reset()
    assert not services.concurrency.admission.try_acquire(team_id, workflow_id, new_run_id()).granted
    assert counter.total == 3


# -- both holds in one batch (the caller passes the workflow's cap it has just read) ---------------


def test_batched_holds_never_exceed_the_team_limit_and_use_every_free_slot(services):
    team_id = make_team(services, limit=3)
    workflow_id = make_workflow(services, team_id, cap=0)
    rounds = contend(services, team_id, [workflow_id], workflow_caps={workflow_id: 0})
    assert [round_["team"] for round_ in rounds] == [3] * ROUNDS
    assert holders(services, f"team:{team_id}") == [] and holders(services, f"workflow:{workflow_id}") == []


def test_batched_holds_never_exceed_a_workflow_cap_and_give_back_the_team_slot(services):
    team_id = make_team(services, limit=5)
    workflow_id = make_workflow(services, team_id, cap=2)
    rounds = contend(services, team_id, [workflow_id], workflow_caps={workflow_id: 2})
    assert [round_["team"] for round_ in rounds] == [2] * ROUNDS


def test_batched_holds_under_team_and_workflow_limits_together(services):
    team_id = make_team(services, limit=3)
    first, second = make_workflow(services, team_id, cap=2), make_workflow(services, team_id, cap=2)
    rounds = contend(services, team_id, [first, second], workflow_caps={first: 2, second: 2})
    assert all(1 <= round_["team"] <= 3 for round_ in rounds)
    assert all(round_[first] <= 2 and round_[second] <= 2 for round_ in rounds)
    assert all(round_[first] + round_[second] == round_["team"] for round_ in rounds)


def test_batched_holds_cost_one_round_trip_and_refuse_like_separate_ones(services):
    team_id = make_team(services, limit=2)
    workflow_id = make_workflow(services, team_id, cap=1)
    admission, counter = services.concurrency.admission, services.core.database.counter
    holder = new_run_id()
    counter.reset()
    assert admission.try_acquire(team_id, workflow_id, holder, workflow_limit=1).granted
    assert dict(counter.calls) == {"teams.find_one": 1, "concurrency_leases.bulk_write": 1}
    # The workflow is full: the team statement applied, the workflow one collided; the team slot is given back
    refused = new_run_id()
    decision = admission.try_acquire(team_id, workflow_id, refused, workflow_limit=1)
    assert (decision.granted, decision.scope, decision.limit, decision.holders) == (False, "workflow", 1, (holder,))
    assert holders(services, f"team:{team_id}") == [holder]
    # The team is full: the workflow statement never ran (a second workflow, uncapped, holds nobody new)
    other = make_workflow(services, team_id, cap=0)
    services.auth.service.set_team_limit(team_id, 1)
    decision = admission.try_acquire(team_id, other, new_run_id(), workflow_limit=0)
    assert (decision.granted, decision.scope, decision.limit, decision.holders) == (False, "team", 1, (holder,))
    assert holders(services, f"workflow:{other}") == []
    # A re-grant of a holder is idempotent in one batch too
    assert admission.try_acquire(team_id, workflow_id, holder, workflow_limit=1).granted
    assert holders(services, f"team:{team_id}") == [holder] and holders(services, f"workflow:{workflow_id}") == [holder]
