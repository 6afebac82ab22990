"""CloudWatch embedded metric format (EMF) through Powertools: the Metrics port, deployed and local.

Values are buffered per (dimensions, metadata) group and written by ``flush`` — once per invocation,
from the handler wrapper — one EMF JSON line per group to stdout, where the Lambda log agent (and
CloudWatch) turns them into metrics without an API call. The local runtime prints the same lines.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from workflow_service.observability import load_powertools
from workflow_service.ports.metrics import MetricUnit

# Through load_powertools: a plain import here would let Powertools' package init import botocore.
load_powertools()
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (  # noqa: E402
    AmazonCloudWatchEMFProvider,
)

_GroupKey = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, Any], ...]]


def _write_line(line: str) -> None:
    # One write per record, so lines printed by concurrent local threads never interleave.
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class EmfMetrics:
    """Implements ports.Metrics. Thread-safe: the local runtime shares one instance between threads."""

    def __init__(self, namespace: str, service: str, *, write: Callable[[str], None] = _write_line) -> None:
        self._namespace = namespace
        self._service = service
        self._write = write
        self._lock = threading.Lock()
        self._groups: dict[_GroupKey, list[tuple[str, float, MetricUnit]]] = {}

    def emit(
        self,
        name: str,
        value: float,
        unit: MetricUnit = "Count",
        *,
        dimensions: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        key = (tuple(sorted((dimensions or {}).items())), tuple(sorted((metadata or {}).items())))
        with self._lock:
            self._groups.setdefault(key, []).append((name, value, unit))

    def flush(self) -> None:
        """Write every buffered group as one EMF record and forget them; nothing to write, nothing printed."""
        with self._lock:
            groups, self._groups = self._groups, {}
        for (dimensions, metadata), values in groups.items():
            # Every record carries the "service" dimension (POWERTOOLS_SERVICE_NAME), as Powertools' own
            # Metrics does: the dashboard (infra/constructs/dashboard.py) queries each metric by service
            # plus exactly its own dimensions.
            provider = AmazonCloudWatchEMFProvider(namespace=self._namespace, service=self._service)
            for name, value, unit in values:
                provider.add_metric(name=name, unit=unit, value=value)
            record = provider.serialize_metric_set(
                metrics=provider.metric_set,
                dimensions={"service": self._service, **dict(dimensions)},
                metadata=dict(metadata),
            )
            self._write(json.dumps(record, separators=(",", ":"), default=str))
