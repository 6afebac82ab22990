"""One case's world: the real ``Services`` over a fresh mongomock database, a manual clock, moto's
EventBridge Scheduler (emulated firing), a scripted LLM and a fake HTTP client, every call intercepted.

One ``mock_aws()`` serves the whole process (``AwsSandbox``); each world empties the schedule group
first, so cases never see each other's schedules. The run-work queue is an in-process SQS queue on
the simulated clock, drained by the real run-worker handler.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from local.sqs_event_source import LocalQueuePoller
from tests.fakes.clock import ManualClock
from tests.fakes.http import FakeHttp
from tests.fakes.metrics import InMemoryMetrics
from tests.simulation.eventbridge import EventBridgeEmulation
from tests.simulation.interception import InterceptedDatabase, InterceptedPort, Interceptor
from tests.support.api import Caller, Reply, call
from tests.support.mongo import fresh_in_memory_database
from workflow_service import wiring
from workflow_service.adapters.local.sqs_queue import LocalSqsQueue
from workflow_service.adapters.local.work_queue import LocalWorkQueue
from workflow_service.models.llm_calls import LlmRequest, LlmResponse
from workflow_service.models.workflow_api import CreateWorkflowRequest
from workflow_service.settings import Settings

REGION = "us-east-1"
GROUP = "simulation-schedules"
# Short thresholds, so letting time pass is minutes, not days. The reaper period is the rate of its rule.
REAPER_PERIOD = timedelta(seconds=60)
ENVIRONMENT = {
    "WORKFLOWS_LOCAL_RUNTIME": "true",
    "STAGE": "test",
    "REAPER_HEARTBEAT_TIMEOUT_SECONDS": "120",
    "REAPER_INPUT_TIMEOUT_SECONDS": "600",
    "REAPER_QUEUE_TTL_SECONDS": "300",
    "REAPER_LEASE_GRACE_SECONDS": "30",
    "REAPER_SCHEDULE_FIRING_GRACE_SECONDS": "120",
    # Below one reaper period, so "after one reconciliation pass" is the first pass after the crash.
    "REAPER_SCHEDULE_PUSH_GRACE_SECONDS": "30",
    "SCHEDULE_GROUP_NAME": GROUP,
    "SCHEDULE_TARGET_ARN": "arn:aws:lambda:us-east-1:123456789012:function:schedule-target",
    "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler-invokes-target",
    "SCHEDULE_RETRY_ATTEMPTS": "2",
}
# The longest deadline a case can leave behind (the input timeout), so settling passes them all.
LONGEST_DEADLINE = timedelta(seconds=600)


class AwsSandbox:
    """The process's moto mock of AWS and its scheduler client (creating clients costs ~0.1 s each)."""

    def __init__(self) -> None:
        import boto3
        from moto import mock_aws

        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            os.environ[name] = value
        self._mock = mock_aws()
        self._mock.start()
        self.client = boto3.client("scheduler", region_name=REGION)
        self.client.create_schedule_group(Name=GROUP)
        # False once a world emptied the group and nothing was pushed since (then nothing to clear).
        self.may_hold_schedules = True


@cache
def aws_sandbox() -> AwsSandbox:
    return AwsSandbox()


class ScriptedLlm:
    """Answers every request at once with the same short text (the turn's side effect under test)."""

    def complete(self, request: LlmRequest) -> LlmResponse:
        return LlmResponse(content="ok", provider="fake", model="fake", input_tokens=1, output_tokens=1, latency_ms=1.0)


def conversation_workflow() -> dict[str, Any]:
    """Every turn makes one LLM call and waits for the user: a run holds its slot until stopped."""
    return {
        "nodes": [{"logical_id": "chat", "type": "say_llm", "is_start": True}],
        "edges": [
            {
                "logical_id": "again",
                "type": "direct",
                "source_node_logical_id": "chat",
                "destination_node_logical_id": "chat",
            }
        ],
    }


def report_workflow() -> dict[str, Any]:
    """What schedules fire: says one line and ends at once."""
    return {
        "nodes": [
            {
                "logical_id": "say",
                "type": "say_static",
                "is_start": True,
                "static_messages_config": {"static_messages": ["Report"]},
            },
            {"logical_id": "end", "type": "no_op"},
        ],
        "edges": [
            {"logical_id": "e", "type": "direct", "source_node_logical_id": "say", "destination_node_logical_id": "end"}
        ],
    }


@dataclass
class Team:
    caller: Caller
    limit: int


class World:
    """Everything one case runs against. Set-up and inspection run with no actor (not steps)."""

    def __init__(self, sandbox: AwsSandbox | None = None) -> None:
        from workflow_service.adapters.aws.scheduler import EventBridgeScheduler

        sandbox = sandbox or aws_sandbox()
        self.settings = Settings.from_environ(ENVIRONMENT)
        self.clock = ManualClock()
        self.interceptor = Interceptor()
        self.plain = fresh_in_memory_database()
        self.database = InterceptedDatabase(self.plain, self.interceptor)
        self.services = wiring.Services(
            self.settings, database=self.database, clock=self.clock, metrics=InMemoryMetrics()
        )
        self._sandbox = sandbox
        self.eventbridge = EventBridgeEmulation(sandbox.client, GROUP, self.clock.now, self._deliver)
        self.eventbridge.touched = sandbox.may_hold_schedules
        self.eventbridge.clear()
        sandbox.may_hold_schedules = False
        self.eventbridge.horizon = self.clock.now()
        adapter = EventBridgeScheduler(sandbox.client, self.settings.schedules)
        self.scheduler = InterceptedPort(
            adapter, self.interceptor, "scheduler", frozenset({"create", "update", "delete"})
        )
        self.scheduler.observers.append(self._remember_push)
        self.llm = InterceptedPort(ScriptedLlm(), self.interceptor, "llm", frozenset({"complete"}))
        self.http = InterceptedPort(FakeHttp(), self.interceptor, "http", frozenset({"send"}))
        self.work_queue = LocalSqsQueue("sim-run-work", 0, None, clock=lambda: self.clock.now().timestamp())
        # Replace the adapters before anything is built from them (the containers cache on first use).
        self.services.schedules.__dict__["scheduler"] = self.scheduler
        self.services.runs.__dict__["llm"] = self.llm
        self.services.runs.__dict__["http_client"] = self.http
        self.services.concurrency.__dict__["work_queue"] = LocalWorkQueue(self.work_queue)
        wiring.install(self.services)

    # -- set-up ----------------------------------------------------------------------------------

    def team(self, limit: int, name: str = "Team") -> Team:
        team = self.services.auth.service.create_team(name, max_concurrent_runs=limit)
        created = self.services.auth.service.create_key(team.id, "alice", "simulation")
        return Team(Caller(team_id=team.id, user_id="alice", api_key=created.plaintext), limit)

    def workflow(self, team: Team, config: dict[str, Any], *, cap: int = 0) -> str:
        request = CreateWorkflowRequest.model_validate(
            {"name": "wf", "max_concurrent_runs": cap, "workflow_config": config}
        )
        return self.services.workflows.service.create(team.caller.team_id, "alice", request).id

    # -- driving ---------------------------------------------------------------------------------

    @contextmanager
    def acting_as(self, actor: str | None) -> Iterator[None]:
        with self.interceptor.acting_as(actor):
            yield

    def api(self, route: str, team: Team, **kwargs: Any) -> Reply:
        """Call a Lambda handler with the API Gateway event of ``route`` (as the current actor)."""
        return call(route, caller=team.caller, **kwargs)

    def fire(self, event: dict[str, Any]) -> dict[str, Any]:
        from schedule_target import handler

        return handler(event, None)

    def reaper_pass(self) -> dict[str, Any]:
        from reaper import handler

        return handler({}, None)

    def drain_worker(self, rounds: int = 5) -> None:
        from run_worker import handler

        poller = LocalQueuePoller(self.work_queue, handler, function_name="run_worker")
        for _ in range(rounds):
            if not poller.drain_once().delivered:
                return

    def settle_once(self, advance: timedelta = REAPER_PERIOD) -> None:
        """Let ``advance`` pass: EventBridge fires each schedule at its time (the clock stops there),
        workers run, then one reaper pass at the end."""
        until = self.clock.now() + advance
        while (due := self.eventbridge.next_due(until)) is not None:
            self.clock.current = max(self.clock.current, due)
            self._deliver_due()
        self.clock.current = until
        self._deliver_due()
        with self.acting_as("reaper"):
            self.reaper_pass()
        with self.acting_as("worker"):
            self.drain_worker()

    def _deliver_due(self) -> None:
        with self.acting_as("eventbridge"):
            self.eventbridge.fire_due()
        with self.acting_as("worker"):
            self.drain_worker()

    # -- inspection ------------------------------------------------------------------------------

    def documents(self, collection: str, selector: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return list(self.plain.raw[collection].find(selector or {}, sort=[("_id", 1)]))

    def _deliver(self, event: dict[str, Any]) -> object:
        return self.fire(event)

    def _remember_push(self, method: str, args: tuple[Any, ...]) -> None:
        if method in {"create", "update"} and args:
            self._sandbox.may_hold_schedules = True
            self.eventbridge.remember_push(args[0])
