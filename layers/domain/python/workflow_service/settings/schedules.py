"""Settings of schedules (EventBridge Scheduler) and of the inbound triggers (SQS queue, signed webhooks)."""

from pydantic import Field

from workflow_service.settings import _Section


class ScheduleSettings(_Section):
    group_name: str = Field("workflow-schedules", alias="SCHEDULE_GROUP_NAME")
    target_lambda_arn: str | None = Field(None, alias="SCHEDULE_TARGET_ARN")
    scheduler_role_arn: str | None = Field(None, alias="SCHEDULER_ROLE_ARN")
    dead_letter_queue_arn: str | None = Field(None, alias="SCHEDULE_DLQ_ARN")
    retry_attempts: int = Field(3, alias="SCHEDULE_RETRY_ATTEMPTS", ge=0, le=185)
    max_event_age_seconds: int = Field(3600, alias="SCHEDULE_MAX_EVENT_AGE_SECONDS", ge=60, le=86400)


class TriggerSettings(_Section):
    trigger_queue_url: str | None = Field(None, alias="TRIGGER_QUEUE_URL")
    webhook_max_body_bytes: int = Field(256 * 1024, alias="WEBHOOK_MAX_BODY_BYTES", gt=0)
    webhook_tolerance_seconds: int = Field(300, alias="WEBHOOK_TOLERANCE_SECONDS", gt=0)
