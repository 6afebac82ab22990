"""Builds the CDK app: shared by ``app.py`` and the infra tests so both synthesize the same thing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import CONFIG_CONTEXT_KEYS, ServiceConfig, load_config, read_cdk_json_context
from infra.route_table import RouteTable, load_route_table
from infra.stack import WorkflowServiceStack


def create_app(*, context_overrides: Mapping[str, Any] | None = None, outdir: str | None = None) -> App:
    """An App whose context starts from ``cdk.json`` (feature flags included).

    ``python app.py`` is not given cdk.json's context by anyone, so it is loaded here; when the CDK
    CLI runs the app, its context (``-c key=value`` included) still takes precedence over this.
    """
    context = {**read_cdk_json_context(), **(context_overrides or {})}
    return App(context=context, outdir=outdir)


def config_from_app(app: App) -> ServiceConfig:
    """The typed config of the stage selected by the app's context."""
    return load_config({key: app.node.try_get_context(key) for key in CONFIG_CONTEXT_KEYS})


def add_service_stack(
    app: App, config: ServiceConfig | None = None, routes: RouteTable | None = None
) -> WorkflowServiceStack:
    """The stage's stack. Without account/region in context it is environment-agnostic: no lookups."""
    config = config or config_from_app(app)
    environment = Environment(account=config.account, region=config.region) if config.account or config.region else None
    return WorkflowServiceStack(
        app,
        config.stack_name,
        config=config,
        routes=routes or load_route_table(),
        env=environment,
        description=f"Workflow execution service ({config.stage})",
    )


def nag_pack(app: App | None = None) -> AwsSolutionsChecks:
    """The cdk-nag AWS Solutions pack (v3: a policy-validation plugin, not an aspect)."""
    return AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=app is not None)


def add_nag_checks(app: App) -> None:
    """Validate the whole app at synth; acknowledged rules are recorded in the template metadata."""
    Validations.of(app).add_plugins(nag_pack(app))
