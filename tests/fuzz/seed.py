"""Real objects for the fuzzer to aim at: without them nearly every id-taking operation stops at a 404."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.support.local_runtime import LocalService
from tests.support.workflows import say_then_end, user_message

V1 = "/workflows/v1"


@dataclass
class SeededIds:
    """Ids of objects the dev team owns, by the path parameter that names them."""

    workflow_id: list[str] = field(default_factory=list)
    version_number: list[int] = field(default_factory=list)
    workflow_run_id: list[str] = field(default_factory=list)
    comment_logical_id: list[str] = field(default_factory=list)
    one_time_schedule_id: list[str] = field(default_factory=list)
    recurring_schedule_id: list[str] = field(default_factory=list)
    trigger_id: list[str] = field(default_factory=list)
    webhook_secrets: dict[str, str] = field(default_factory=dict)
    """Signing secret of each webhook trigger, so the fuzzer can send calls that pass the signature check."""
    webhook_id: list[str] = field(default_factory=list)
    """Outbound webhook subscriptions."""

    def for_parameter(self, path: str, name: str) -> list[str] | list[int]:
        """The real values for path parameter ``name`` of the operation at ``path`` (empty: none known)."""
        if name in ("schedule_id", "id"):
            one_time = name == "schedule_id" and "/workflow-schedules/" in path
            return self.one_time_schedule_id if one_time else self.recurring_schedule_id
        values: list[str] | list[int] = getattr(self, name, [])
        return values

    def for_body(self, path: str) -> dict[str, list[str]]:
        """Real values for the id fields of a request body at ``path`` (top-level keys only)."""
        return {
            "workflow_id": self.workflow_id,
            "workflowId": self.workflow_id,
            "workflow_run_id": self.workflow_run_id,
            "run_id": self.workflow_run_id,
        }


def _ok(answer: tuple[int, object, dict[str, str]], what: str) -> dict:
    status, body, _ = answer
    if status not in (200, 201, 202):
        raise AssertionError(f"seeding {what} failed: {status} {body}")
    assert isinstance(body, dict)
    return body


def seed(service: LocalService, workflows: int = 2) -> SeededIds:
    """Create ``workflows`` workflows, each with versions, runs (one commented), a one-time and a recurring
    schedule (on both schedule APIs) and a webhook and an SQS trigger; return their ids."""
    ids = SeededIds(version_number=[0, 1, 2])
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()
    for index in range(workflows):
        config = say_then_end(f"Hello {index}", wait_for_user=True)
        workflow = _ok(
            service.request("POST", f"{V1}/workflows", {"name": f"fuzz {index}", "workflow_config": config}),
            "a workflow",
        )
        workflow_id = workflow["workflow"]["_id"]
        ids.workflow_id.append(workflow_id)
        for name in ("second", "third"):
            version = {"version_name": name, "workflow_config": config}
            _ok(service.request("POST", f"{V1}/workflows/{workflow_id}/versions", version), "a version")

        for _ in range(2):
            turn = _ok(service.request("POST", f"{V1}/workflows/{workflow_id}/execute", {"run_input": {}}), "a run")
            ids.workflow_run_id.append(turn["run_id"])
        run_id = ids.workflow_run_id[-1]
        answer = _ok(
            service.request("POST", f"{V1}/workflow-runs/{run_id}/comments", {"content": "seeded"}), "a comment"
        )
        ids.comment_logical_id.extend(c["logical_id"] for c in answer["workflow_run"]["workflow_run"]["comments"])
        _ok(
            service.request(
                "POST",
                f"{V1}/workflows/{workflow_id}/execute",
                {
                    "run_id": ids.workflow_run_id[-2],
                    "run_input": {"command": "data", "thread_to_node_inputs": user_message("hi")},
                },
            ),
            "a second turn",
        )

        one_time = {"scheduled_time": tomorrow, "run_input": {"dynamic_variables": {"who": "fuzz"}}}
        schedule = _ok(
            service.request("POST", f"{V1}/workflows/{workflow_id}/schedules", one_time), "a one-time schedule"
        )
        ids.one_time_schedule_id.append(schedule["_id"])
        recurring = {"cron_expression": "0 9 * * MON-FRI", "timezone": "Europe/Rome"}
        schedule = _ok(
            service.request("POST", f"{V1}/workflows/{workflow_id}/recurring-schedules", recurring),
            "a recurring schedule",
        )
        ids.recurring_schedule_id.append(schedule["_id"])
        camel = {"workflowId": workflow_id, "cronExpression": "30 6 1 * *", "inputData": [{"json": {"a": 1}}]}
        ids.recurring_schedule_id.append(
            _ok(service.request("POST", "/api/v1/schedules", camel), "a cron schedule")["id"]
        )

        webhook = _ok(
            service.request("POST", f"{V1}/workflows/{workflow_id}/triggers", {"type": "webhook", "name": "fuzz hook"}),
            "a webhook trigger",
        )
        ids.trigger_id.append(webhook["_id"])
        ids.webhook_secrets[webhook["_id"]] = webhook["secret"]
        sqs = _ok(
            service.request("POST", f"{V1}/workflows/{workflow_id}/triggers", {"type": "sqs", "name": "fuzz queue"}),
            "an SQS trigger",
        )
        ids.trigger_id.append(sqs["_id"])

        subscription = {"name": f"fuzz subscription {index}", "url": "https://hooks.example.com/fuzz"}
        ids.webhook_id.append(
            _ok(service.request("POST", f"{V1}/workflow-webhooks", subscription), "a subscription")["id"]
        )
    return ids
