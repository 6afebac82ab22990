"""One route-table group (``routes.json`` "routes" key, e.g. workflows, schedules) in a nested stack of its own.

A route costs four resources (function, log group, method, invoke permission), so one template for
every route would reach CloudFormation's 500-resource limit at about 120 routes. Each group's
functions, log groups, roles, methods and permissions live in the group's nested stack; the API's
resource tree, authorizer, deployment and stage stay in the parent (``Api``), so the groups only
reference them by id and a new group needs no change here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aws_cdk import NestedStack
from aws_cdk import aws_apigateway as apigw
from constructs import Construct

from infra.config import API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS, ServiceConfig
from infra.constructs.common import acknowledge, construct_id
from infra.constructs.function_factory import FunctionFactory
from infra.route_table import FunctionSpec

NO_AUTHORIZER_REASONS = {
    "none": "Public by design: the OpenAPI document and the Swagger UI carry no team data",
    "webhook_signature": (
        "Inbound webhooks are called by third parties without an API key; the handler verifies the "
        "per-trigger HMAC-SHA256 signature, timestamp and message id (Standard Webhooks) itself"
    ),
}


class RouteGroup(NestedStack):
    """``methods`` (route name -> Method) of one group, each invoking its own function."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        config: ServiceConfig,
        group: str,
        routes: Sequence[FunctionSpec],
        factory: FunctionFactory,
        resource_for: Callable[[str], apigw.IResource],
        authorizer: apigw.IAuthorizer,
    ) -> None:
        super().__init__(scope, construct_id_, description=f"{config.resource_prefix}: the {group} routes")
        self._config = config
        self.methods: dict[str, apigw.Method] = {}
        for spec in routes:
            self.methods[spec.name] = self._add_route(spec, factory, resource_for, authorizer)

    def _add_route(
        self,
        spec: FunctionSpec,
        factory: FunctionFactory,
        resource_for: Callable[[str], apigw.IResource],
        authorizer: apigw.IAuthorizer,
    ) -> apigw.Method:
        assert spec.http is not None
        timeout = self._config.lambda_.timeout_for(spec.capability)
        if timeout > API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS:
            raise ValueError(
                f"route {spec.name}: timeout {timeout}s exceeds API Gateway's "
                f"{API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS}s integration timeout"
            )
        function = factory.create(self, spec, shared_role=True)
        requires_key = spec.http.requires_api_key
        method = apigw.Method(
            self,
            f"{construct_id(spec.name)}Method",
            resource=resource_for(spec.http.path),
            http_method=spec.http.method,
            # Test invocations from the console are not needed; skipping them halves the permissions.
            # The permission's source ARN names the method and path with any stage: the API has one
            # stage, and naming it would make this template wait on the stage, which waits on it.
            integration=apigw.LambdaIntegration(function, allow_test_invoke=False),
            options=apigw.MethodOptions(
                operation_name=spec.name,
                authorizer=authorizer if requires_key else None,
                authorization_type=apigw.AuthorizationType.CUSTOM if requires_key else apigw.AuthorizationType.NONE,
            ),
        )
        acknowledge(
            method,
            "AwsSolutions-COG4",
            "Clients are machines holding team API keys (Authorization: Bearer), checked by the Lambda "
            "TOKEN authorizer; there is no Cognito user pool",
        )
        if not requires_key:
            acknowledge(method, "AwsSolutions-APIG4", NO_AUTHORIZER_REASONS[spec.http.auth])
        return method
