"""Settings of concurrency limits and dispatch, the reaper, and the dedupe records' window."""

from pydantic import Field

from workflow_service.settings import _Section


class ConcurrencySettings(_Section):
    default_team_max_concurrent_runs: int = Field(10, alias="DEFAULT_TEAM_MAX_CONCURRENT_RUNS", ge=1)
    retry_after_seconds: int = Field(5, alias="RETRY_AFTER_SECONDS", ge=1)
    work_queue_url: str | None = Field(None, alias="RUN_WORK_QUEUE_URL")
    # A dispatch pass reads the queue head of at most this many of the team's workflows with queued
    # runs (a varying subset when more wait), and asks admission about at most dispatch_max_runs runs.
    dispatch_max_workflows: int = Field(100, alias="DISPATCH_MAX_WORKFLOWS", ge=1, le=1000)
    dispatch_max_runs: int = Field(100, alias="DISPATCH_MAX_RUNS", ge=1, le=1000)


class ReaperSettings(_Section):
    heartbeat_timeout_seconds: int = Field(900, alias="REAPER_HEARTBEAT_TIMEOUT_SECONDS", ge=1)
    input_timeout_seconds: int = Field(86400, alias="REAPER_INPUT_TIMEOUT_SECONDS", ge=1)
    queue_ttl_seconds: int = Field(3600, alias="REAPER_QUEUE_TTL_SECONDS", ge=1)
    # A paused run not resumed within this time is failed by the reaper (default 7 days).
    pause_ttl_seconds: int = Field(7 * 86400, alias="REAPER_PAUSE_TTL_SECONDS", ge=1)
    lease_grace_seconds: int = Field(60, alias="REAPER_LEASE_GRACE_SECONDS", ge=0)
    batch_size: int = Field(100, alias="REAPER_BATCH_SIZE", ge=1, le=1000)
    max_batches: int = Field(10, alias="REAPER_MAX_BATCHES", ge=1)
    # A one-time schedule claimed this long ago without a run (its firing's run submission failed and
    # EventBridge gave up retrying) is fired again by the reaper; shorter retries belong to EventBridge.
    schedule_firing_grace_seconds: int = Field(900, alias="REAPER_SCHEDULE_FIRING_GRACE_SECONDS", ge=0)
    # A schedule owing an AWS push is pushed, and a pending one-time schedule this far past its time
    # without a firing is fired late, once this long has passed (in-flight writers and deliveries first).
    # Longer than an API function's 29 s timeout, so the writer that moved the generation has finished
    # or died; shorter than one reaper period, so one pass repairs what a crash left (pushing is idempotent).
    schedule_push_grace_seconds: int = Field(30, alias="REAPER_SCHEDULE_PUSH_GRACE_SECONDS", ge=0)
    # How often the schedule group is listed to delete AWS schedules without a record (one page a pass).
    schedule_listing_interval_seconds: int = Field(86400, alias="REAPER_SCHEDULE_LISTING_INTERVAL_SECONDS", ge=0)
    # How often the local runtime runs the reaper (deployed: the EventBridge rule's rate).
    local_interval_seconds: float = Field(5.0, alias="REAPER_LOCAL_INTERVAL_SECONDS", gt=0)


class DedupeSettings(_Section):
    # How long an SQS message id, a schedule firing or an Idempotency-Key is remembered: 24 h covers
    # SQS redelivery (max retention aside), EventBridge's retries (max event age <= 24 h) and the
    # IETF idempotency-key draft's and Stripe's 24 h window. Webhook ids are remembered for at least
    # twice the signature tolerance (see triggers.inbound).
    window_seconds: int = Field(86400, alias="DEDUPE_WINDOW_SECONDS", ge=60)
