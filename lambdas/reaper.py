"""EventBridge rate rule target: one reaper pass (fail stale runs, reconcile leases and schedules, dispatch)."""

from workflow_service.wiring import services


def handler(event: dict, context: object) -> dict:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    time_left = (lambda: remaining() / 1000) if callable(remaining) else None
    return services().reaper.service.reap(time_left=time_left)
