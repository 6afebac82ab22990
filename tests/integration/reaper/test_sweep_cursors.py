"""The reaper's lease sweeps resume where the last pass stopped, so a leak or a lost entry past what
one pass reads (batch size x max batches; 1 x 1 here, 100 x 10 by default) is still repaired."""

from __future__ import annotations

import pytest
from bson import ObjectId

from tests.integration.concurrency.helpers import (
    REAPER_TEST_ENVIRONMENT,
    drain_worker,
    holders,
    make_workflow,
    status_of,
    submit,
)
from workflow_service.settings import Settings


@pytest.fixture
def settings() -> Settings:
    return Settings.from_environ({**REAPER_TEST_ENVIRONMENT, "REAPER_BATCH_SIZE": "1", "REAPER_MAX_BATCHES": "1"})


def passes(services, clock, count: int) -> list[dict]:
    summaries = []
    for _ in range(count):
        summaries.append(services.reaper.service.reap())
        clock.advance(seconds=5)
    return summaries


def test_a_leaked_slot_behind_healthy_leases_is_dropped_within_a_few_passes(services, clock):
    # Given a team with two healthy waiting runs (its team and workflow leases sort first)
    services.auth.service.create_team("A", max_concurrent_runs=5, team_id="t1")
    healthy = make_workflow(services, "t1")
    for _ in range(2):
        submit(services, "t1", healthy)
    drain_worker(services)
    # and team t2 (limit 1) whose only slot is held by a run that never came to be, one run queued
    services.auth.service.create_team("B", max_concurrent_runs=1, team_id="t2")
    blocked = make_workflow(services, "t2")
    ghost = str(ObjectId())
    assert services.concurrency.admission.try_acquire("t2", blocked, ghost).granted
    queued = submit(services, "t2", blocked)
    assert status_of(services, queued.id) == "not_started"
    clock.advance(seconds=61)
    # When the reaper passes, one lease read per pass, as many times as there are leases
    summaries = passes(services, clock, 4)
    # Then the ghost is dropped and the queued run starts
    assert ghost not in holders(services, "team:t2")
    assert sum(summary["leases_reconciled"] for summary in summaries) >= 1
    assert status_of(services, queued.id) in ("started", "waiting_for_user_input")


def test_a_slot_holding_run_past_the_first_batch_gets_its_entries_back(services, clock):
    # Given two waiting runs of one team, and the later one (higher id) lost its lease entries
    services.auth.service.create_team("A", max_concurrent_runs=5, team_id="t1")
    workflow = make_workflow(services, "t1")
    submit(services, "t1", workflow)
    second = submit(services, "t1", workflow)
    drain_worker(services)
    services.core.database.raw["concurrency_leases"].update_many({}, {"$pull": {"holders": second.id}})
    clock.advance(seconds=61)
    # When the reaper passes, one run read per pass
    summaries = passes(services, clock, 3)
    # Then it holds its slot again, still waiting for its user
    assert second.id in holders(services, "team:t1") and second.id in holders(services, f"workflow:{workflow}")
    assert sum(summary["leases_restored"] for summary in summaries) == 1
    assert status_of(services, second.id) == "waiting_for_user_input"
