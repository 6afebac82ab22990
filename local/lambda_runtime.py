"""What the Lambda runtime gives a handler: its module, loaded like a cold start, and a context object."""

from __future__ import annotations

import importlib
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workflow_service.adapters.local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION

LambdaHandler = Callable[[dict[str, Any], Any], Any]

LAMBDAS_DIR = Path(__file__).resolve().parents[1] / "lambdas"


def import_lambda_handler(name: str) -> LambdaHandler:
    """``lambdas/<name>.py``'s ``handler``, imported on first use like a Lambda cold start."""
    lambdas = str(LAMBDAS_DIR)
    if lambdas not in sys.path:
        sys.path.insert(0, lambdas)
    return importlib.import_module(name).handler


class LocalLambdaContext:
    """The Lambda context object a handler receives (the attributes the Python runtime provides).

    Values follow the real runtime, including ``memory_limit_in_mb`` being a string (it is read from
    an environment variable there).
    """

    def __init__(
        self,
        function_name: str,
        timeout_seconds: float = 30.0,
        memory_limit_in_mb: int = 128,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._clock = clock
        self._deadline = clock() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before this invocation would time out in Lambda."""
        return max(0, int((self._deadline - self._clock()) * 1000))


__all__ = ["LAMBDAS_DIR", "LambdaHandler", "LocalLambdaContext", "import_lambda_handler"]
