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


def test_a_pass_asks_about_at_most_max_runs_runs():
    runs = [queued_run("t", "w", minute) for minute in range(20)]
    repository = InMemoryRunRepository(runs)
    admission = ScriptedAdmission(team_slots=100)
    admitted = dispatcher(repository, admission, max_runs=6).dispatch("t")
    assert admitted == [run.id for run in runs[:6]]
    assert len(admission.asked) == 6


def test_a_run_that_fits_is_not_held_back_by_the_queues_of_full_workflows():
    # Given (defect 7) a team with 6 of its 10 slots free, 4 workflows capped and full, 25 runs of each
    # queued one workflow after the other, and then one run of a fifth workflow
    capped = [f"capped-{index}" for index in range(4)]
    ahead = [queued_run("t", name, 25 * index + minute) for index, name in enumerate(capped) for minute in range(25)]
    last = queued_run("t", "fifth", 100)
    repository = InMemoryRunRepository([*ahead, last])
    admission = ScriptedAdmission(team_slots=6, workflow_slots={wid(name): 0 for name in capped})
    # When one dispatch pass runs
    admitted = dispatcher(repository, admission).dispatch("t")
    # Then the run of the fifth workflow starts, and each full workflow was asked about once
    assert admitted == [last.id]
    assert repository.get(None, last.id).workflow_run.status is RunStatus.STARTED
    assert len(admission.asked) == 5


def test_the_reads_of_a_pass_do_not_grow_with_queue_length():
    def reads_of_a_pass(queued_per_full_workflow: int) -> dict[str, int]:
        # Given 3 full workflows with this many runs queued each, and one run of another workflow
        full = [f"full-{index}" for index in range(3)]
        ahead = [queued_run("t", name, minute) for minute in range(queued_per_full_workflow) for name in full]
        repository = InMemoryRunRepository([*ahead, queued_run("t", "other", 10_000)])
        admission = ScriptedAdmission(team_slots=5, workflow_slots={wid(name): 0 for name in full})
        repository.reads.clear()
        # When one pass admits the run of the other workflow
        assert len(dispatcher(repository, admission).dispatch("t")) == 1
        return {name: count for name, count in repository.reads.items() if name != "get"}

    # Then it read the same: the workflows with queued runs once, each head once, the admitted one's next
    assert reads_of_a_pass(2) == reads_of_a_pass(200) == {"queued_workflow_ids": 1, "queue_head": 5}


def test_runs_of_eligible_workflows_are_admitted_oldest_first_across_workflows():
    # Given the head of the queue is a full workflow and runs of two others are interleaved behind it
    head = [queued_run("t", "full", minute) for minute in range(3)]
    behind = [queued_run("t", name, minute) for name, minute in (("b", 5), ("c", 3), ("b", 4), ("c", 6))]
    repository = InMemoryRunRepository([*head, *behind])
    admission = ScriptedAdmission(team_slots=10, workflow_slots={wid("full"): 0})
    # When a dispatch merges the workflows' queues
    admitted = dispatcher(repository, admission).dispatch("t")
    # Then the other runs are admitted in the order they were queued, none of the full workflow's
    assert admitted == [behind[1].id, behind[2].id, behind[0].id, behind[3].id]
    assert all(repository.get(None, run.id).workflow_run.status is RunStatus.NOT_STARTED for run in head)
    # And the full workflow was asked about once: its queue left the pass
    assert admission.asked.count(head[0].id) == 1 and head[1].id not in admission.asked


def test_a_team_refusal_after_skipping_a_full_workflow_still_stops_the_pass():
    # Given 2 team slots, workflow "capped" at 1, and runs of another workflow queued behind
    runs = [
        queued_run("t", "capped", 0),
        queued_run("t", "capped", 1),
        *[queued_run("t", "w", minute) for minute in range(2, 5)],
    ]
    admission = ScriptedAdmission(team_slots=2, workflow_slots={wid("capped"): 1})
    # When a dispatch runs
    admitted = dispatcher(InMemoryRunRepository(runs), admission).dispatch("t")
    # Then the team is full after the second admission, and the run after the refused one is not asked
    assert admitted == [runs[0].id, runs[2].id]
    assert admission.asked == [runs[0].id, runs[1].id, runs[2].id, runs[3].id]


def test_a_head_whose_start_was_lost_gives_way_to_the_next_run_of_its_workflow():
    # Given the oldest queued run is cancelled between its admission and its start
    runs = [queued_run("t", "w", minute) for minute in range(2)]
    repository = InMemoryRunRepository(runs)
    repository.lose_start_to[runs[0].id] = RunStatus.CANCELLED
    admission = ScriptedAdmission(team_slots=2)
    # When a dispatch runs
    admitted = dispatcher(repository, admission).dispatch("t")
    # Then the slot goes back, and the next run of the workflow starts in the same pass
    assert admission.released == [runs[0].id]
    assert admitted == [runs[1].id]


def test_reads_stay_bounded_when_every_workflow_is_full():
    # Given ten workflows, each full, with one queued run each
    runs = [queued_run("t", f"full-{minute}", minute) for minute in range(10)]
    repository = InMemoryRunRepository(runs)
    admission = ScriptedAdmission(team_slots=100, workflow_slots={wid(f"full-{minute}"): 0 for minute in range(10)})
    # When a dispatch may read the heads of 3 workflows
    admitted = dispatcher(repository, admission, max_workflows=3).dispatch("t")
    # Then it read 3 heads and asked about 3 runs
    assert admitted == []
    assert repository.reads["queue_head"] == 3 and len(admission.asked) == 3


def test_successive_passes_reach_every_workflow_when_more_wait_than_one_pass_reads():
    # Given ten workflows with one queued run each, more than the 3 one pass reads
    runs = [queued_run("t", f"w-{minute}", minute) for minute in range(10)]
    repository = InMemoryRunRepository(runs)
    admission = ScriptedAdmission(team_slots=100)
    # When passes run until one admits nothing
    admitted: list[str] = []
    while batch := dispatcher(repository, admission, max_workflows=3).dispatch("t"):
        assert len(batch) <= 3
        admitted += batch
    # Then every run was admitted
    assert sorted(admitted) == sorted(run.id for run in runs)
