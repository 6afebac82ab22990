"""The stale-run reaper in the local runtime: the real reaper handler on a timer, as EventBridge would.

The interval is REAPER_LOCAL_INTERVAL_SECONDS (a few seconds), and the thresholds are the usual
REAPER_* settings, so a developer can watch a hung run fail within seconds by lowering them.
Deployed, every pass logs its summary (one line per invocation of the rate rule); locally, a pass
that found nothing to do is not logged, so the runtime stays quiet when idle.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from local.background_loop import BackgroundLoop
from local.lambda_runtime import LocalLambdaContext, import_lambda_handler
from workflow_service.adapters.local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION

logger = logging.getLogger("local.reaper")

REAPER_FUNCTION_NAME = "reaper"
REAPER_TIMEOUT_SECONDS = 60.0
REAPER_SERVICE_LOGGER = "workflow_service.reaper.service"
# Summary entries that say how a pass went rather than what it did.
_PASS_BOOKKEEPING = frozenset({"complete", "round_trips"})


class IdlePassFilter(logging.Filter):
    """Drops the reaper's INFO "reaper pass" line when the pass did nothing; warnings always pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or not str(record.msg).startswith("reaper pass"):
            return True
        # logging hands a lone mapping argument over as record.args itself.
        summary = record.args if isinstance(record.args, Mapping) else None
        if summary is None:
            return True
        return any(value for name, value in summary.items() if name not in _PASS_BOOKKEEPING)


class LocalReaperComponent:
    """Invokes the reaper handler every ``interval_seconds`` on a daemon thread."""

    def __init__(self, interval_seconds: float) -> None:
        self._loop = BackgroundLoop(
            "local-reaper", self._scheduled_pass, interval_seconds, first_step_after_interval=True, logger=logger
        )
        self.interval_seconds = interval_seconds
        self._handler = import_lambda_handler(REAPER_FUNCTION_NAME)
        self._idle_pass_filter = IdlePassFilter()

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
        logging.getLogger(REAPER_SERVICE_LOGGER).addFilter(self._idle_pass_filter)
        self._loop.start()

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Stop the timer; waits up to ``timeout_seconds`` for a pass in progress to finish."""
        self._loop.stop(timeout_seconds)
        logging.getLogger(REAPER_SERVICE_LOGGER).removeFilter(self._idle_pass_filter)

    def _scheduled_pass(self) -> bool:
        self.run_once()
        # One pass per period, as the rate rule fires, however much a pass found to do.
        return False


def create_local_reaper_component(runtime: Any) -> LocalReaperComponent:
    """The reaper timer for ``runtime`` (a started ``local.runtime.LocalRuntime``)."""
    return LocalReaperComponent(runtime.settings.reaper.local_interval_seconds)
