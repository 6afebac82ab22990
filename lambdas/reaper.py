"""EventBridge rate rule target: one reaper pass (fail stale runs, reconcile leases and schedules, dispatch)."""

from workflow_service.observability import observed
from workflow_service.wiring import services


def reap(event: dict, context: object) -> dict:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    time_left = (lambda: remaining() / 1000) if callable(remaining) else None
    return services().reaper.service.reap(time_left=time_left)


# Reconciling schedules calls EventBridge Scheduler; queued runs go to SQS: traced when TRACING_ENABLED.
handler = observed(reap, calls_out=True)
