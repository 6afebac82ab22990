"""EventBridge Scheduler's target: fires one one-time or recurring schedule.

The event is the schedule's target input, with ``<aws.scheduler.scheduled-time>`` filled in::

    {"schedule_id": "<24-hex id>", "kind": "one_time" | "recurring", "scheduled_time": "2030-01-01T09:00:00Z",
     "generation": 3}

A duplicate delivery, a cancelled or deleted schedule, or a disabled one is a logged no-op; so is a
delivery of an older generation than the record's (it marks the schedule for a re-push). An event
that is not of this shape can never succeed, so it is logged and dropped rather than retried. A
transient failure (database or AWS unreachable) is raised, so the delivery is retried and, past the
retry policy, lands in the schedule's dead-letter queue.
"""

import logging
from typing import Any

from pydantic import ValidationError

from workflow_service.models.schedules import ScheduleTargetEvent
from workflow_service.observability import append_keys, observed
from workflow_service.wiring import services

logger = logging.getLogger("workflow_service.handlers.schedule_target")


def fire_schedule(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        firing = ScheduleTargetEvent.model_validate(event)
    except ValidationError as problem:
        logger.error("schedule event rejected (not retried): %s; event: %s", problem.errors(include_url=False), event)
        return {"outcome": "rejected", "reason": "not a schedule event"}
    append_keys(trigger="schedule", schedule_id=firing.schedule_id)
    return services().schedules.firing.fire(firing).as_dict()


# Submitting the run reads MongoDB and may queue it on SQS: traced when TRACING_ENABLED.
handler = observed(fire_schedule, calls_out=True)
