"""Logging, metrics flushing and tracing set-up for every handler and the local runtime.

Logging: one Powertools ``Logger`` (JSON lines on stdout) configured from settings — LOG_LEVEL,
POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOGGER_SAMPLE_RATE (the share of invocations logged at DEBUG).
Modules keep plain ``logging.getLogger(__name__)`` loggers; the ``workflow_service`` and ``local``
namespaces are routed into the Logger's handler, so every line has the same JSON shape and carries
the correlation keys of the invocation it belongs to (``append_keys``, per thread: the local runtime
serves requests on several threads at once). Only the names in ``CORRELATION_KEYS`` may be appended,
so no secret (API key, bearer token, webhook secret, MongoDB URI) can become a log key by accident.

Metrics: sinks register a flush with ``flush_at_end_of_invocation``; ``invocation`` calls it once
when the handler returns or raises, so no metric is lost with a failed invocation.

Tracing: ``traced`` wraps a handler with Powertools Tracer only when TRACING_ENABLED is set;
otherwise neither the Tracer nor aws_xray_sdk is imported (cold start).

Powertools is always imported through ``load_powertools``: its package init imports ``botocore``
(for a user-agent hook on SDK sessions), which a handler that never calls AWS must not pay for.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from workflow_service import end_cold_start_pause, invocation_time
from workflow_service.settings import RuntimeSettings, load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

# The stdlib logger namespaces whose records are written as the service's JSON lines.
LOGGER_NAMESPACES = ("workflow_service", "local")

# What may be appended to every line of an invocation: ids and labels, never credentials.
CORRELATION_KEYS = frozenset(
    {
        "request_id",  # API Gateway's request id (what a client quotes from a 500 body)
        "function_request_id",  # the Lambda invocation's aws_request_id
        "cold_start",
        "route",
        "team_id",
        "user_id",
        "workflow_id",
        "run_id",
        "schedule_id",
        "trigger",
        "message_id",
    }
)

_configured: Logger | None = None
_configure_lock = threading.Lock()
_flushes: list[Callable[[], None]] = []
_cold_start = True
_log = logging.getLogger(__name__)
_powertools_lock = threading.Lock()


def load_powertools() -> None:
    """Import ``aws_lambda_powertools`` without the ``botocore`` import its package init makes.

    Powertools 3.x's ``__init__`` runs ``import botocore`` only to register a User-Agent suffix
    ("PT/no-op/<version>") on SDK sessions, and skips it when that import fails. So while the
    package initialises, ``botocore`` is made unimportable (``sys.modules[name] = None``), and
    restored right after; where botocore is already loaded (the process calls AWS), nothing is hidden.
    Call it before any ``aws_lambda_powertools`` import. Cost of the choice: SDK calls made later in
    the container do not carry Powertools' User-Agent suffix (usage telemetry, nothing functional).
    """
    if "aws_lambda_powertools" in sys.modules:
        return
    with _powertools_lock:
        if "aws_lambda_powertools" in sys.modules:
            return
        hide = "botocore" not in sys.modules
        if hide:
            sys.modules["botocore"] = None  # type: ignore[assignment]  # import now raises ImportError
        try:
            import aws_lambda_powertools  # noqa: F401
        finally:
            if hide and "botocore" in sys.modules and sys.modules["botocore"] is None:
                del sys.modules["botocore"]


def configure_logging(settings: RuntimeSettings | None = None) -> Logger:
    """The service's Powertools Logger, created and routed on first call (later calls return it).

    ``settings`` defaults to this process's environment; the local runtime passes its own.
    """
    global _configured
    if _configured is not None:
        return _configured
    with _configure_lock:
        if _configured is None:
            _configured = _create_logger(settings or load_settings().runtime)
    return _configured


def _create_logger(settings: RuntimeSettings) -> Logger:
    load_powertools()
    from aws_lambda_powertools import Logger

    powertools = Logger(
        service=settings.service_name,
        level=settings.log_level.upper(),
        sampling_rate=settings.log_sampling_rate or None,
        utc=True,
    )
    for name in LOGGER_NAMESPACES:
        namespace = logging.getLogger(name)
        if powertools.registered_handler not in namespace.handlers:
            namespace.addHandler(powertools.registered_handler)
        # Not to the root logger too: in Lambda its handler would print every record a second time.
        namespace.propagate = False
    _apply_level(powertools)
    return powertools


def _apply_level(powertools: Logger) -> None:
    for name in LOGGER_NAMESPACES:
        logging.getLogger(name).setLevel(powertools.log_level)


def append_keys(**keys: Any) -> None:
    """Add correlation keys to every line this thread logs until the invocation ends.

    A None (or empty) value removes the key: the next record of a batch has no run yet.
    """
    unknown = set(keys) - CORRELATION_KEYS
    if unknown:
        raise ValueError(f"not correlation keys: {sorted(unknown)}")
    powertools = configure_logging()
    present = {name: value for name, value in keys.items() if value is not None and value != ""}
    absent = [name for name in keys if name not in present]
    if absent:
        powertools.thread_safe_remove_keys(absent)
    if present:
        powertools.thread_safe_append_keys(**present)


def flush_at_end_of_invocation(flush: Callable[[], None]) -> None:
    """Have ``flush`` called when each invocation ends (a metrics sink registers its own)."""
    _flushes.append(flush)


def flush_now() -> None:
    """Call every registered flush; a failing one is logged, never raised into the handler's result."""
    for flush in list(_flushes):
        try:
            flush()
        except Exception:
            _log.exception("flushing metrics failed")


@contextmanager
def invocation(context: Any, **keys: Any) -> Iterator[None]:
    """One handler invocation: fresh correlation keys (the Lambda request id, ``keys``), the debug
    sampling decision, and the metrics flush at the end, also when the handler raises."""
    global _cold_start
    end_cold_start_pause()
    powertools = configure_logging()
    powertools.thread_safe_clear_keys()
    if powertools.sampling_rate:
        powertools.refresh_sample_rate_calculation()
        _apply_level(powertools)
    cold_start, _cold_start = _cold_start, False
    append_keys(function_request_id=getattr(context, "aws_request_id", None), cold_start=cold_start, **keys)
    deadline = invocation_time.start(context)
    try:
        yield
    finally:
        invocation_time.end(deadline)
        flush_now()
        powertools.thread_safe_clear_keys()


def observed(handler: HandlerT, *, calls_out: bool = False) -> HandlerT:
    """An event-source Lambda handler wrapped in ``invocation`` (and ``traced`` when it ``calls_out``)."""

    def observed_handler(event: Any, context: Any) -> Any:
        with invocation(context):
            return handler(event, context)

    observed_handler.__doc__ = handler.__doc__
    wrapped: Any = observed_handler
    return traced(wrapped) if calls_out else wrapped


def traced(handler: HandlerT) -> HandlerT:
    """``handler`` under Powertools Tracer when TRACING_ENABLED; ``handler`` itself otherwise.

    Only handlers that call out (LLM, HTTP, AWS) are traced. The decision to rely on Lambda's
    active tracing (no aws_xray_sdk in the layer) lives here: the SDK costs far more import time
    than our code's budget allows (see the README's Observability section); when it is installed
    and TRACING_ENABLED is set, the Tracer adds subsegments for boto3 and HTTP calls.
    """
    if not load_settings().runtime.tracing_enabled:
        return handler
    if importlib.util.find_spec("aws_xray_sdk") is None:  # the Tracer's provider; not in the layer
        _log.warning("TRACING_ENABLED is set but aws_xray_sdk is not installed; relying on Lambda active tracing")
        return handler
    load_powertools()
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=load_settings().runtime.service_name)
    # Responses may carry run outputs: never copy them into trace metadata.
    return cast(HandlerT, tracer.capture_lambda_handler(handler, capture_response=False))


__all__ = [
    "CORRELATION_KEYS",
    "LOGGER_NAMESPACES",
    "append_keys",
    "configure_logging",
    "flush_at_end_of_invocation",
    "flush_now",
    "invocation",
    "load_powertools",
    "observed",
    "traced",
]
