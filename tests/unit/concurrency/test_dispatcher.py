"""FifoDispatcher: FIFO per team, workflow caps skip, lost races give the slot back, bounded work."""

from __future__ import annotations

import logging

from tests.fakes.clock import T0, ManualClock
from tests.fakes.concurrency import RecordingWorkQueue, ScriptedAdmission
from tests.fakes.runs import InMemoryRunRepository
from tests.unit.concurrency.support import queued_run, wid
from workflow_service.concurrency.dispatcher import FifoDispatcher
from workflow_service.models.runs import RunStatus


def dispatcher(runs, admission, queue=None, **options) -> FifoDispatcher:
    return FifoDispatcher(
        runs, admission, queue or RecordingWorkQueue(), ManualClock(), run_timeout_seconds=900, **options
    )


def test_admits_oldest_first_while_team_slots_last():
    runs = [queued_run("t", "w", minute) for minute in (3, 1, 2)]
    repository, queue = InMemoryRunRepository(runs), RecordingWorkQueue()
    admitted = dispatcher(repository, ScriptedAdmission(team_slots=2), queue).dispatch("t")
    oldest_two = [runs[1].id, runs[2].id]
    assert admitted == oldest_two
    assert queue.enqueued == oldest_two
    assert repository.get(None, runs[0].id).workflow_run.status is RunStatus.NOT_STARTED


def test_a_team_refusal_stops_the_pass():
    runs = [queued_run("t", "w", minute) for minute in range(3)]
    admission = ScriptedAdmission(team_slots=0)
    assert dispatcher(InMemoryRunRepository(runs), admission).dispatch("t") == []
    assert admission.asked == [runs[0].id]  # nobody behind the head was even considered


def test_a_workflow_refusal_skips_that_workflow_and_goes_on():
    capped = [queued_run("t", "capped", minute) for minute in (0, 1, 3)]
    other = queued_run("t", "other", 2)
    admission = ScriptedAdmission(team_slots=5, workflow_slots={wid("capped"): 1})
    admitted = dispatcher(InMemoryRunRepository([*capped, other]), admission).dispatch("t")
    assert admitted == [capped[0].id, other.id]
    # A workflow known to be full is not asked again within the pass
    assert admission.asked == [capped[0].id, capped[1].id, other.id]


def test_admitted_run_is_started_with_a_heartbeat_deadline_and_leaves_the_queue():
    run = queued_run("t", "w", 0)
    repository = InMemoryRunRepository([run])
    dispatcher(repository, ScriptedAdmission(team_slots=1)).dispatch("t")
    inner = repository.get(None, run.id).workflow_run
    assert inner.status is RunStatus.STARTED
    assert inner.heartbeat_at == T0 and (inner.heartbeat_deadline_at - T0).total_seconds() == 900
    assert inner.queued_at is None and inner.queue_deadline_at is None


def test_the_inline_run_is_not_sent_to_the_worker():
    runs = [queued_run("t", "w", minute) for minute in range(2)]
    queue = RecordingWorkQueue()
    admitted = dispatcher(InMemoryRunRepository(runs), ScriptedAdmission(team_slots=2), queue).dispatch(
        "t", run_inline=runs[0].id
    )
    assert admitted == [runs[0].id, runs[1].id]
    assert queue.enqueued == [runs[1].id]


def test_a_run_cancelled_meanwhile_gives_its_slot_back():
    run = queued_run("t", "w", 0)
    repository = InMemoryRunRepository([run])
    repository.lose_start_to[run.id] = RunStatus.CANCELLED
    admission = ScriptedAdmission(team_slots=1)
    assert dispatcher(repository, admission).dispatch("t") == []
    assert admission.released == [run.id]
    # Only the acquisition this dispatcher made is given back (by its token), never a later one
    assert admission.released_tokens == ["token-1"]


def test_the_start_records_the_token_of_the_acquisition_that_admitted_the_run():
    run = queued_run("t", "w", 0)
    repository = InMemoryRunRepository([run])
    assert dispatcher(repository, ScriptedAdmission(team_slots=1)).dispatch("t") == [run.id]
    started = repository.get(None, run.id).workflow_run
    assert (started.status, started.lease_token) == (RunStatus.STARTED, "token-1")


def test_a_run_another_dispatcher_started_keeps_the_slot():
    # The slot is keyed by run id: the winner's lease entry is the same one; releasing it would let
    # a started run run without a slot.
    run = queued_run("t", "w", 0)
    repository = InMemoryRunRepository([run])
    repository.lose_start_to[run.id] = RunStatus.STARTED
    admission = ScriptedAdmission(team_slots=1)
    assert dispatcher(repository, admission).dispatch("t") == []
    assert admission.released == []


def test_a_work_queue_outage_leaves_the_run_admitted_and_logged(caplog):
    run = queued_run("t", "w", 0)
    repository = InMemoryRunRepository([run])
    caplog.set_level(logging.ERROR)
    admitted = dispatcher(repository, ScriptedAdmission(team_slots=1), RecordingWorkQueue(failing=True)).dispatch("t")
    assert admitted == [run.id]
    assert repository.get(None, run.id).workflow_run.status is RunStatus.STARTED
    assert any(run.id in record.getMessage() for record in caplog.records)


def test_work_per_call_is_bounded():
    runs = [queued_run("t", "w", minute) for minute in range(20)]
    repository = InMemoryRunRepository(runs)
    admitted = dispatcher(repository, ScriptedAdmission(team_slots=100), page_size=3, max_pages=2).dispatch("t")
    assert admitted == [run.id for run in runs[:6]]
    assert repository.reads["queued"] == 2


def test_later_pages_leave_out_full_workflows_and_reach_the_runs_behind_them():
    # Given a team with 5 free slots, workflow "capped" at 1, 30 of its runs queued, then one of "other"
    capped = [queued_run("t", "capped", minute) for minute in range(30)]
    other = queued_run("t", "other", 30)
    repository = InMemoryRunRepository([*capped, other])
    admission = ScriptedAdmission(team_slots=5, workflow_slots={wid("capped"): 1})
    # When a dispatch reads pages of 25
    admitted = dispatcher(repository, admission, page_size=25, max_pages=4).dispatch("t")
    # Then the capped workflow gets its one slot, and the run of "other" at position 31 is admitted too
    assert admitted == [capped[0].id, other.id]
    assert repository.get(None, other.id).workflow_run.status is RunStatus.STARTED
    # And the second read left the full workflow out instead of returning its runs again
    assert repository.excluded_per_read == [set(), {wid("capped")}]
    assert admission.asked == [capped[0].id, capped[1].id, other.id]


def test_runs_of_eligible_workflows_are_admitted_oldest_first_across_pages():
    # Given the head of the queue is a full workflow and runs of two others are interleaved behind it
    head = [queued_run("t", "full", minute) for minute in range(3)]
    behind = [queued_run("t", name, minute) for name, minute in (("b", 5), ("c", 3), ("b", 4), ("c", 6))]
    repository = InMemoryRunRepository([*head, *behind])
    admission = ScriptedAdmission(team_slots=10, workflow_slots={wid("full"): 0})
    # When a dispatch reads pages of 2
    admitted = dispatcher(repository, admission, page_size=2, max_pages=4).dispatch("t")
    # Then the other runs are admitted in the order they were queued, none of the full workflow's
    assert admitted == [behind[1].id, behind[2].id, behind[0].id, behind[3].id]
    assert all(repository.get(None, run.id).workflow_run.status is RunStatus.NOT_STARTED for run in head)


def test_a_team_refusal_after_skipping_a_full_workflow_still_stops_the_pass():
    # Given 2 team slots, workflow "capped" at 1, and runs of another workflow queued behind
    runs = [
        queued_run("t", "capped", 0),
        queued_run("t", "capped", 1),
        *[queued_run("t", "w", minute) for minute in range(2, 5)],
    ]
    admission = ScriptedAdmission(team_slots=2, workflow_slots={wid("capped"): 1})
    # When a dispatch reads pages of 2
    admitted = dispatcher(InMemoryRunRepository(runs), admission, page_size=2, max_pages=5).dispatch("t")
    # Then the team is full after the second admission, and the run after the refused one is not asked
    assert admitted == [runs[0].id, runs[2].id]
    assert admission.asked == [runs[0].id, runs[1].id, runs[2].id, runs[3].id]


def test_reads_stay_bounded_when_every_workflow_is_full():
    # Given ten workflows, each full, with one queued run each
    runs = [queued_run("t", f"full-{minute}", minute) for minute in range(10)]
    repository = InMemoryRunRepository(runs)
    admission = ScriptedAdmission(team_slots=100, workflow_slots={wid(f"full-{minute}"): 0 for minute in range(10)})
    # When a dispatch may read 3 pages of 2
    admitted = dispatcher(repository, admission, page_size=2, max_pages=3).dispatch("t")
    # Then it gives up after 3 reads, having asked about 6 runs
    assert admitted == []
    assert repository.reads["queued"] == 3 and len(admission.asked) == 6
