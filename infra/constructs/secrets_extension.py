"""The AWS Parameters and Secrets Lambda Extension: the layer and settings of functions that read a secret.

The runtime reads the MongoDB URI (and the OpenAI-compatible key, if any) from the extension's
local HTTP endpoint instead of calling Secrets Manager through boto3: no SDK on the cold path, and
the secret is cached per container for ``secrets_manager_ttl_seconds``. The function's role still
needs secretsmanager:GetSecretValue on the secret (the extension calls with the function's
credentials); the binding that names the secret grants it.

The layer is AWS's, published per region and architecture from a different account in each region,
so its ARN comes from the map in cdk.json. A stage with a region gets the ARN at synth (ServiceConfig
refuses a region the map lacks); an environment-agnostic stage gets a CloudFormation mapping of the
same map, resolved by the region it is deployed to.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, Stack, Token
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import runtime_env
from infra.config import ServiceConfig

_MAPPING_ATTRIBUTE = "LayerArn"


class SecretsExtension(Construct):
    """``environment`` (the extension's settings) and ``layer_in(scope)`` (its layer, for ``scope``'s stack)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: ServiceConfig) -> None:
        super().__init__(scope, construct_id)
        settings = config.secrets_extension
        self._config = config
        self._layers: dict[str, lambda_.ILayerVersion] = {}
        self.environment = {
            runtime_env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: str(settings.http_port),
            runtime_env.PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: str(settings.cache_enabled).lower(),
            runtime_env.PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE: str(settings.cache_size),
            runtime_env.SECRETS_MANAGER_TTL: str(settings.secrets_manager_ttl_seconds),
        }

    def layer_in(self, scope: Construct) -> lambda_.ILayerVersion:
        """The extension layer as seen from ``scope``'s stack (each template refers to it itself)."""
        stack = Stack.of(scope)
        key = stack.node.path
        if key not in self._layers:
            self._layers[key] = lambda_.LayerVersion.from_layer_version_arn(
                stack, "SecretsExtensionLayer", self._layer_arn(stack)
            )
        return self._layers[key]

    def _layer_arn(self, stack: Stack) -> str:
        settings = self._config.secrets_extension
        architecture = self._config.lambda_.architecture
        if not Token.is_unresolved(stack.region):
            arn = settings.layer_arn(stack.region, architecture)
            assert arn is not None, "ServiceConfig.of_stage checks that the stage's region is mapped"
            return arn
        mapping = CfnMapping(
            stack,
            "SecretsExtensionLayers",
            mapping={
                region: {_MAPPING_ATTRIBUTE: by_architecture[architecture]}
                for region, by_architecture in sorted(settings.layer_arns.items())
                if architecture in by_architecture
            },
        )
        return mapping.find_in_map(Aws.REGION, _MAPPING_ATTRIBUTE)
