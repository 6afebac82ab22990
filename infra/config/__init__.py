"""Typed deployment configuration parsed from the CDK context (``cdk.json``).

The context holds one ``workflow_service`` object (the defaults) and ``workflow_service_stages``
(per-stage partial overrides, deep-merged over the defaults). ``-c stage=prod`` picks the stage.
Each context object is a pydantic model (``extra="forbid"``, strict types, AWS's bounds), so a typo
or an out-of-range value in ``cdk.json`` fails the synth with a ConfigError naming the key.

- ``base``: what every context model shares;
- ``sections``: one model per section of ``workflow_service`` (lambda, api, queues, reaper, ...);
- ``service``: the stage as a whole, and the rules that span sections;
- ``context``: reading cdk.json, selecting the stage, merging its overlay;
- ``errors``: ConfigError, and pydantic's errors worded by dotted cdk.json key.

The package exports what the stack, app.py and scripts use; the section models live in ``sections``.
This package is plain Python (pydantic, no ``aws_cdk``): ``scripts/build_layer.py`` reads the Lambda
Python version and architecture from here, so the layer is always built for the runtime that is deployed.
"""

from infra.config.context import (
    CDK_JSON,
    CONFIG_CONTEXT_KEYS,
    REPO_ROOT,
    SERVICE_CONTEXT_KEY,
    STAGE_CONTEXT_KEY,
    STAGES_CONTEXT_KEY,
    load_config,
    load_config_from_cdk_json,
    read_cdk_json_context,
)
from infra.config.errors import ConfigError
from infra.config.sections import API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS, QueueConfig
from infra.config.service import ServiceConfig

__all__ = [
    "API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS",
    "CDK_JSON",
    "CONFIG_CONTEXT_KEYS",
    "REPO_ROOT",
    "SERVICE_CONTEXT_KEY",
    "STAGES_CONTEXT_KEY",
    "STAGE_CONTEXT_KEY",
    "ConfigError",
    "QueueConfig",
    "ServiceConfig",
    "load_config",
    "load_config_from_cdk_json",
    "read_cdk_json_context",
]
