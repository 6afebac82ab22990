"""The shared Lambda layer: the domain package plus its third-party runtime dependencies.

The layer directory is produced by ``scripts/build_layer.py`` (pip with manylinux wheels, no
Docker); this construct only packages it, and refuses to synthesize without it rather than deploy
functions that cannot import their code.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import ServiceConfig
from infra.constructs.function_factory import lambda_architecture, lambda_runtime

DOMAIN_PACKAGE = "workflow_service"


class LayerNotBuiltError(FileNotFoundError):
    """The layer directory is missing or incomplete."""


class DomainLayer(Construct):
    """``layer``: the LayerVersion every function of the stack uses."""

    def __init__(self, scope: Construct, construct_id: str, *, config: ServiceConfig) -> None:
        super().__init__(scope, construct_id)
        archive = config.assets.layer_archive
        package_marker = config.assets.layer_path / "python" / DOMAIN_PACKAGE / "__init__.py"
        if not archive.is_file() or not package_marker.is_file():
            raise LayerNotBuiltError(f"{archive} not found: build the layer first with `python scripts/build_layer.py`")
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            # The reproducible zip, not the directory: same content, same hash; one file to fingerprint.
            code=lambda_.Code.from_asset(str(archive)),
            compatible_runtimes=[lambda_runtime(config)],
            compatible_architectures=[lambda_architecture(config)],
            description=f"{config.resource_prefix}: {DOMAIN_PACKAGE} and its runtime dependencies",
            # CloudFormation deletes the replaced version only after the update succeeded, so a
            # rollback still finds it; keeping every old version would just accumulate storage.
            removal_policy=RemovalPolicy.DESTROY,
        )
