"""Public shapes of workflow triggers (seed 004): inbound webhooks and the SQS trigger queue.

A trigger belongs to one workflow of one team. A webhook trigger has its own URL path and a
Standard Webhooks signing secret, shown only in the responses of create and rotate-secret. An SQS
trigger has no secret: it allows messages on the service's trigger queue that name its workflow to
start runs (at most one SQS trigger per workflow, since a message names only the workflow).
"""

from enum import StrEnum
from typing import Any

from pydantic import Field, computed_field, field_validator

from workflow_service.models.common import ApiModel, AuditedModel, ObjectIdStr, RequestModel, UtcDatetime, refuse_null
from workflow_service.models.runs import NodeRunInputs, RunStatus, WorkflowRunInput

WEBHOOK_PATH_TEMPLATE = "/workflows/v1/hooks/{trigger_id}"


class TriggerKind(StrEnum):
    WEBHOOK = "webhook"
    SQS = "sqs"


class Trigger(AuditedModel):
    workflow_id: ObjectIdStr
    type: TriggerKind
    name: str
    enabled: bool = True
    has_secret: bool = Field(False, description="Whether a signing secret exists (it is never returned again)")
    secret_rotated_at: UtcDatetime | None = Field(None, description="When the current secret was issued")

    @computed_field(description="Path of the public endpoint that accepts this webhook trigger's calls (POST)")  # type: ignore[prop-decorator]
    @property
    def webhook_path(self) -> str | None:
        if self.type != TriggerKind.WEBHOOK or self.id is None:
            return None
        return WEBHOOK_PATH_TEMPLATE.format(trigger_id=self.id)


class TriggerWithSecret(Trigger):
    """A trigger as created or after rotate-secret: the only responses that carry the secret."""

    secret: str | None = Field(
        None,
        description="Standard Webhooks signing secret ('whsec_' + base64 key), webhook triggers only. "
        "Shown once: store it now; rotate-secret issues a new one and invalidates this one immediately.",
    )

    @classmethod
    def of(cls, trigger: Trigger, secret: str | None) -> "TriggerWithSecret":
        return cls.model_validate({**trigger.model_dump(by_alias=True, exclude={"webhook_path"}), "secret": secret})


class TriggerList(ApiModel):
    triggers: list[Trigger]
    total: int


class CreateTriggerRequest(RequestModel):
    type: TriggerKind = Field(description="'webhook' (a signed public endpoint) or 'sqs' (the trigger queue)")
    name: str = Field(min_length=1, max_length=200)
    enabled: bool = True


class UpdateTriggerRequest(RequestModel):
    """Enable or disable a trigger, or rename it; absent fields are left unchanged."""

    enabled: bool | None = None
    name: str | None = Field(None, min_length=1, max_length=200)

    @field_validator("enabled", "name")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class WebhookAccepted(ApiModel):
    """The answer to an accepted webhook call (also to a replay of an accepted ``webhook-id``)."""

    run_id: str
    status: RunStatus | None = Field(
        description="The run's status; null for a replayed webhook-id whose run was deleted (nothing was started)"
    )
    queue_position: int | None = Field(None, description="1-based position in the team's queue while queued")


class TriggeredRunInput(RequestModel):
    """The part of a WorkflowRunInput a queue message may set for the run's first turn.

    The fields mean exactly what they mean in WorkflowRunInput. The command is always ``start``;
    the workflow, version and team come from the message and the workflow, never from here.
    """

    dynamic_variables: dict[str, Any] = Field(default_factory=dict)
    runtime_variables: dict[str, Any] = Field(default_factory=dict)
    miscellaneous: dict[str, Any] = Field(default_factory=dict)
    thread_to_node_inputs: dict[str, NodeRunInputs] = Field(default_factory=dict)

    def to_run_input(self) -> WorkflowRunInput:
        return WorkflowRunInput(
            dynamic_variables=self.dynamic_variables,
            runtime_variables=self.runtime_variables,
            miscellaneous=self.miscellaneous,
            thread_to_node_inputs=self.thread_to_node_inputs,
        )


class TriggerQueueMessage(RequestModel):
    """The JSON body of one trigger-queue message; unknown fields are rejected (the message fails).

    Example: ``{"workflow_id": "65f1a2b3c4d5e6f708192a3b", "run_input": {"dynamic_variables":
    {"patient": "Ada"}}, "version": 2, "idempotency_key": "crm-lead-8812"}``.
    """

    workflow_id: ObjectIdStr = Field(description="The workflow to run; it must have an enabled SQS trigger")
    run_input: TriggeredRunInput = Field(default_factory=TriggeredRunInput)
    version: int | None = Field(None, ge=0, description="Version to run (default: the active version)")
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=256,
        description="Messages with the same key for the same workflow make one run; without a key, "
        "redeliveries of one message (same SQS message id) make one run.",
    )
