"""Building blocks for the concurrency and reaper suites: teams, workflows, queued runs, the worker."""

from __future__ import annotations

from typing import Any

from run_worker import handler as run_worker_handler

from local.sqs_event_source import BatchOutcome, LocalQueuePoller
from tests.support.api import Caller
from tests.support.workflows import waiting_workflow
from workflow_service.models.runs import RunTrigger, TriggerType, WorkflowRunInput, WorkflowRunsModel
from workflow_service.models.workflow_api import CreateWorkflowRequest
from workflow_service.settings import Settings

# Short thresholds so a test moves the clock by minutes, not days. The input timeout is the longest,
# so expiring a queued run never expires the waiting run that holds the slot it waits for.
REAPER_TEST_ENVIRONMENT = {
    "WORKFLOWS_LOCAL_RUNTIME": "true",
    "STAGE": "test",
    "REAPER_HEARTBEAT_TIMEOUT_SECONDS": "60",
    "REAPER_INPUT_TIMEOUT_SECONDS": "600",
    "REAPER_QUEUE_TTL_SECONDS": "300",
    "REAPER_LEASE_GRACE_SECONDS": "30",
}


def short_timeout_settings() -> Settings:
    return Settings.from_environ(REAPER_TEST_ENVIRONMENT)


def make_team(services: Any, limit: int, name: str = "Team") -> str:
    return services.auth.service.create_team(name, max_concurrent_runs=limit).id


def make_workflow(services: Any, team_id: str, *, cap: int = 0, config: dict[str, Any] | None = None) -> str:
    request = CreateWorkflowRequest.model_validate(
        {"name": "wf", "max_concurrent_runs": cap, "workflow_config": config or waiting_workflow()}
    )
    return services.workflows.service.create(team_id, "alice", request).id


def submit(services: Any, team_id: str, workflow_id: str) -> WorkflowRunsModel:
    """An asynchronous start (as a webhook would make): queued, then dispatched if a slot is free."""
    return services.runs.submission.submit(
        Caller(team_id, "alice"), workflow_id, None, WorkflowRunInput(), RunTrigger(type=TriggerType.WEBHOOK)
    )


def status_of(services: Any, run_id: str) -> str:
    return services.runs.repository.get(None, run_id).workflow_run.status.value


def stored_run(services: Any, run_id: str) -> WorkflowRunsModel:
    return services.runs.repository.get(None, run_id)


def worker(services: Any) -> LocalQueuePoller:
    """The run worker polling the local work queue, as the local runtime runs it."""
    return LocalQueuePoller(services.concurrency.work_queue.queue, run_worker_handler, function_name="run_worker")


def drain_worker(services: Any) -> list[BatchOutcome]:
    """Run the worker until the work queue has nothing visible left."""
    poller = worker(services)
    outcomes = []
    while (outcome := poller.drain_once()).delivered:
        outcomes.append(outcome)
    return outcomes


def holders(services: Any, key: str) -> list[str]:
    document = services.core.database.raw["concurrency_leases"].find_one({"_id": key})
    return list(document["holders"]) if document else []
