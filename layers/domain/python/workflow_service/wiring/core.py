"""What every capability builds on: the clock, the secrets reader and the database."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from workflow_service.errors import StoreUnavailable

if TYPE_CHECKING:
    from workflow_service.settings import Settings


class CoreContainer:
    def __init__(self, settings: Settings, *, database: Any = None, clock: Any = None, metrics: Any = None) -> None:
        """``database``, ``clock`` and ``metrics`` replace the configured ones (the local runtime, tests, benches)."""
        self._settings = settings
        if database is not None:
            self.__dict__["database"] = database
        if clock is not None:
            self.__dict__["clock"] = clock
        if metrics is not None:
            self.__dict__["metrics"] = metrics

    @cached_property
    def metrics(self):
        """EMF metrics on stdout, flushed by the handler wrapper at the end of every invocation."""
        from workflow_service import observability
        from workflow_service.adapters.aws.metrics import EmfMetrics

        sink = EmfMetrics(self._settings.runtime.metrics_namespace, self._settings.runtime.service_name)
        observability.flush_at_end_of_invocation(sink.flush)
        return sink

    @cached_property
    def clock(self):
        from workflow_service.adapters.clock import SystemClock

        return SystemClock()

    @cached_property
    def secrets(self):
        """The Parameters and Secrets Lambda Extension; Secrets Manager through boto3 only where the
        extension is absent (no session token, or its port refuses the connection), imported then."""
        from workflow_service.adapters.aws.secrets_extension import SecretsExtensionReader

        settings = self._settings.secrets
        token = settings.aws_session_token
        return SecretsExtensionReader(
            settings.extension_http_port,
            token.get_secret_value() if token is not None else None,
            timeout_seconds=settings.extension_timeout_seconds,
            ready_wait_seconds=settings.extension_ready_wait_seconds,
            sdk_fallback=_secrets_manager_reader,
        )

    @cached_property
    def dedupe_records(self):
        """Dedupe records of deliveries and idempotency keys, apart from the runs and schedules they made."""
        from workflow_service.adapters.mongo.dedupe import MongoDedupeRecords

        return MongoDedupeRecords(self.database)

    @cached_property
    def idempotent_create(self):
        """The Idempotency-Key header of the create routes (schedules of both APIs, run starts)."""
        from workflow_service.idempotency import IdempotentCreate

        return IdempotentCreate(self.dedupe_records, self.clock, self._settings.dedupe.window_seconds)

    @cached_property
    def database(self):
        from workflow_service.adapters.mongo import store

        settings = self._settings.store
        uri = settings.mongodb_uri
        if uri is None and settings.mongodb_secret_arn:
            uri = self.secrets.read_mongodb_uri(settings.mongodb_secret_arn)
        if uri is None:
            if self._settings.runtime.local_runtime:
                return store.in_memory(settings.database_name)
            raise StoreUnavailable("no database configured: set MONGODB_URI or MONGODB_SECRET_ARN")
        return store.connect(
            uri,
            settings.database_name,
            server_selection_timeout_ms=settings.server_selection_timeout_ms,
            max_pool_size=settings.max_pool_size,
            app_name=self._settings.runtime.service_name,
        )


class Deferred:
    """A collaborator built on its first use, not when the object that holds it is wired.

    For a use case that needs a heavy collaborator on one path only (run submission queues a webhook's
    or a schedule's run without ever running a turn, so it must not import the engine for it).
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._target: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._target is None:
            self._target = self._build()
        return getattr(self._target, name)


def _secrets_manager_reader():
    import boto3

    from workflow_service.adapters.aws.secrets import SecretsManagerReader

    return SecretsManagerReader(boto3.client("secretsmanager"))
