"""The MongoDB connection string, read from Secrets Manager by every function that "uses" store.

Choice: the secret is an EXISTING secret referenced by name (``store.mongodb_secret_name``), not
created by this stack. The URI carries database credentials issued by Atlas/DocumentDB, whose life
cycle is not the stack's: deleting or re-creating the stack must never delete or regenerate them,
and a stack-created secret would only hold a placeholder until someone pasted the real URI in.
``Secret.from_secret_name_v2`` needs no lookup at synth. Create it once per stage:

    aws secretsmanager create-secret --name <mongodb_secret_name> --secret-string 'mongodb+srv://...'
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import runtime_env
from infra.config import ServiceConfig
from infra.constructs.function_factory import UseBinding

# Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
SECRET_ARN_SUFFIX_PATTERN = "-??????"


def secret_read_statements(
    secret: secretsmanager.ISecret, kms_key_arn: str | None, scope: Construct
) -> list[iam.PolicyStatement]:
    """GetSecretValue on exactly ``secret`` (and Decrypt through Secrets Manager if it has its own key)."""
    statements = [
        iam.PolicyStatement(
            actions=["secretsmanager:GetSecretValue"],
            resources=[f"{secret.secret_arn}{SECRET_ARN_SUFFIX_PATTERN}"],
        )
    ]
    if kms_key_arn:
        statements.append(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[kms_key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{Stack.of(scope).region}.amazonaws.com"}
                },
            )
        )
    return statements


class StoreSecret(Construct):
    """``secret`` and ``binding`` (the "store" use): secret ARN, database name and team defaults."""

    def __init__(self, scope: Construct, construct_id: str, *, config: ServiceConfig) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret.from_secret_name_v2(self, "MongoUri", config.store.mongodb_secret_name)
        self.binding = UseBinding(
            environment={
                # A partial ARN (no random suffix); GetSecretValue accepts it as SecretId.
                runtime_env.MONGODB_SECRET_ARN: self.secret.secret_arn,
                runtime_env.MONGODB_DATABASE: config.store.mongodb_database,
                # One invocation per container: a small pool, sized with the connection budget.
                runtime_env.MONGODB_MAX_POOL_SIZE: str(config.store.max_pool_size),
                # Whoever reads or writes teams and runs needs the default team limit and the 429 hint.
                runtime_env.DEFAULT_TEAM_MAX_CONCURRENT_RUNS: str(config.concurrency.default_team_max_concurrent_runs),
                runtime_env.RETRY_AFTER_SECONDS: str(config.concurrency.retry_after_seconds),
                # A run's end dispatches the team's queue wherever it happens, and any writer may dedupe.
                runtime_env.DISPATCH_MAX_WORKFLOWS: str(config.concurrency.dispatch_max_workflows),
                runtime_env.DISPATCH_MAX_RUNS: str(config.concurrency.dispatch_max_runs),
                runtime_env.DEDUPE_WINDOW_SECONDS: str(config.dedupe.window_seconds),
                # The deadlines the reaper ends runs by are written on the runs by whoever starts, queues,
                # pauses or turns them: those writers must use the stage's values, not the defaults.
                runtime_env.REAPER_HEARTBEAT_TIMEOUT_SECONDS: str(config.reaper.heartbeat_timeout_seconds),
                runtime_env.REAPER_INPUT_TIMEOUT_SECONDS: str(config.reaper.input_timeout_seconds),
                runtime_env.REAPER_QUEUE_TTL_SECONDS: str(config.reaper.queue_ttl_seconds),
                runtime_env.REAPER_PAUSE_TTL_SECONDS: str(config.reaper.pause_ttl_seconds),
            },
            statements=secret_read_statements(self.secret, config.store.mongodb_secret_kms_key_arn, self),
            reads_secret=True,
        )
