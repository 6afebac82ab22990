"""A waiting run's input deadline comes from the version its turn ran, whatever the container caches."""

from __future__ import annotations

import pytest

from tests.integration.concurrency.helpers import (
    REAPER_TEST_ENVIRONMENT,
    drain_worker,
    make_team,
    make_workflow,
    status_of,
    stored_run,
    submit,
)
from tests.support.workflows import waiting_workflow
from workflow_service.settings import Settings


@pytest.fixture
def settings() -> Settings:
    # No version cache: every turn reads its version, and nothing of it is left for the commit to find.
    return Settings.from_environ({**REAPER_TEST_ENVIRONMENT, "VERSION_CACHE_SIZE": "0"})


def test_the_reaper_honours_the_workflows_input_timeout_when_no_version_is_cached(services, clock):
    # Given a workflow whose runs may wait 3000 s for input (the service default is 600 s in this suite)
    team_id = make_team(services, limit=2)
    workflow_id = make_workflow(services, team_id, config={**waiting_workflow(), "input_timeout_seconds": 3000})
    run = submit(services, team_id, workflow_id)
    drain_worker(services)
    assert status_of(services, run.id) == "waiting_for_user_input"
    # Then its input deadline is the workflow's
    deadline = stored_run(services, run.id).workflow_run.input_deadline_at
    assert (deadline - clock.now()).total_seconds() == 3000
    # And when 700 s pass (past the default, inside the workflow's timeout) and the reaper runs
    clock.advance(seconds=700)
    services.reaper.service.reap()
    # Then the run still waits
    assert status_of(services, run.id) == "waiting_for_user_input"
