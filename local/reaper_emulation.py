"""The stale-run reaper in the local runtime: the real reaper handler on a timer, as EventBridge would.

The interval is REAPER_LOCAL_INTERVAL_SECONDS (a few seconds), and the thresholds are the usual
REAPER_* settings, so a developer can watch a hung run fail within seconds by lowering them.
A pass that found nothing to do logs its summary at DEBUG (deployed too), so at the default
LOG_LEVEL the runtime stays quiet when idle.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from local.background_loop import BackgroundLoop
from local.lambda_runtime import LocalLambdaContext, import_lambda_handler
from workflow_service.adapters.local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION

logger = logging.getLogger("local.reaper")

REAPER_FUNCTION_NAME = "reaper"
REAPER_TIMEOUT_SECONDS = 60.0


class LocalReaperComponent:
    """Invokes the reaper handler every ``interval_seconds`` on a daemon thread."""

    def __init__(self, interval_seconds: float) -> None:
        self._loop = BackgroundLoop(
            "local-reaper", self._scheduled_pass, interval_seconds, first_step_after_interval=True, logger=logger
        )
        self.interval_seconds = interval_seconds
        self._handler = import_lambda_handler(REAPER_FUNCTION_NAME)

    def run_once(self) -> dict[str, Any] | None:
        """One invocation with an EventBridge scheduled event; None if the pass failed (logged)."""
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": LOCAL_ACCOUNT_ID,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": LOCAL_REGION,
            "resources": [f"arn:aws:events:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:rule/{REAPER_FUNCTION_NAME}"],
            "detail": {},
        }
        context = LocalLambdaContext(REAPER_FUNCTION_NAME, timeout_seconds=REAPER_TIMEOUT_SECONDS)
        try:
            return self._handler(event, context)
        except Exception:
            # A failed pass must not end the timer: the next one retries, as the rate rule would.
            logger.exception("local reaper pass failed")
            return None

    def start(self) -> None:
        """Start the rate rule's timer (idempotent); the first pass comes one interval later."""
        self._loop.start()

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Stop the timer; waits up to ``timeout_seconds`` for a pass in progress to finish."""
        self._loop.stop(timeout_seconds)

    def _scheduled_pass(self) -> bool:
        self.run_once()
        # One pass per period, as the rate rule fires, however much a pass found to do.
        return False


def create_local_reaper_component(runtime: Any) -> LocalReaperComponent:
    """The reaper timer for ``runtime`` (a started ``local.runtime.LocalRuntime``)."""
    return LocalReaperComponent(runtime.settings.reaper.local_interval_seconds)
