"""Settings of the workflow engine: outbound calls of http_request and tool nodes, a turn's budgets."""

from pydantic import Field

from workflow_service.settings import _Section


class HttpNodeSettings(_Section):
    """Outbound calls made by http_request and tool nodes."""

    allow_loopback: bool = Field(False, alias="HTTP_NODE_ALLOW_LOOPBACK")
    allow_private_networks: bool = Field(False, alias="HTTP_NODE_ALLOW_PRIVATE_NETWORKS")
    # Deployed, plain http would send workflow data and credentials in clear; the local runtime turns it off.
    require_https: bool = Field(True, alias="HTTP_NODE_REQUIRE_HTTPS")
    default_timeout_seconds: float = Field(10.0, alias="HTTP_NODE_TIMEOUT_SECONDS", gt=0)
    max_response_bytes: int = Field(1_000_000, alias="HTTP_NODE_MAX_RESPONSE_BYTES", gt=0)


class EngineSettings(_Section):
    max_steps_per_turn: int = Field(200, alias="ENGINE_MAX_STEPS_PER_TURN", ge=1)
    heartbeat_interval_seconds: float = Field(30.0, alias="RUN_HEARTBEAT_INTERVAL_SECONDS", gt=0)
    version_cache_size: int = Field(256, alias="VERSION_CACHE_SIZE", ge=0)
    # A turn's wall time: at most this, and never closer than the margin to the invocation's timeout
    # (so the turn fails with a reason and commits, instead of the function being killed mid-turn).
    turn_time_budget_seconds: float = Field(600.0, alias="ENGINE_TURN_TIME_BUDGET_SECONDS", gt=0)
    turn_time_margin_seconds: float = Field(3.0, alias="ENGINE_TURN_TIME_MARGIN_SECONDS", ge=0)
