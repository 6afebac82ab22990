"""The REST API: one Lambda and one method per route-table row, behind the API-key authorizer."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS, ServiceConfig
from infra.constructs.common import acknowledge, log_retention, removal_policy
from infra.constructs.function_factory import FunctionFactory
from infra.route_table import FunctionSpec, RouteTable

# One body for both API surfaces: /workflows/v1 clients read "detail" (FastAPI style), seed 002's
# /api/v1/schedules clients read "error" and "code". Gateway responses cannot differ by path.
_GATEWAY_ERROR_BODIES = {
    apigw.ResponseType.UNAUTHORIZED: ("401", "Not authenticated", "UNAUTHORIZED"),
    apigw.ResponseType.ACCESS_DENIED: ("403", "Not authorized for this resource", "FORBIDDEN"),
}
# Any other error API Gateway answers by itself (throttling, unknown route, integration timeout).
_GATEWAY_DEFAULT_TEMPLATE = (
    '{"detail":$context.error.messageString,"error":$context.error.messageString,"code":"$context.error.responseType"}'
)
_NO_AUTHORIZER_REASONS = {
    "none": "Public by design: the OpenAPI document and the Swagger UI carry no team data",
    "webhook_signature": (
        "Inbound webhooks are called by third parties without an API key; the handler verifies the "
        "per-trigger HMAC-SHA256 signature, timestamp and message id (Standard Webhooks) itself"
    ),
}


class Api(Construct):
    """``rest_api``, ``authorizer`` and ``methods`` (route name -> Method)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ServiceConfig,
        factory: FunctionFactory,
        routes: RouteTable,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention(config), removal_policy=removal_policy(config)
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=config.resource_prefix,
            description=f"Workflow service API ({config.stage})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=config.api.create_cloudwatch_role,
            # The CloudWatch role is an account-wide API Gateway setting other APIs may rely on:
            # deleting this stack must not pull it from under them.
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if config.api.create_cloudwatch_role else None,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                throttling_rate_limit=config.api.throttling_rate_limit,
                throttling_burst_limit=config.api.throttling_burst_limit,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel(config.api.execution_logging_level),
                # Request/response bodies hold customer data: never in execution logs.
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=_access_log_format(),
            ),
        )
        authorizer_function = factory.create(self, routes.event("authorizer"), shared_role=False)
        self.authorizer = apigw.TokenAuthorizer(
            self,
            "ApiKeyAuthorizer",
            authorizer_name=f"{config.resource_prefix}-api-key",
            handler=authorizer_function,
            identity_source=apigw.IdentitySource.header("Authorization"),
            results_cache_ttl=Duration.seconds(config.api.authorizer_cache_ttl_seconds),
        )
        self._resources: dict[str, apigw.IResource] = {"": self.rest_api.root}
        self.methods: dict[str, apigw.Method] = {}
        for spec in routes.routes:
            self.methods[spec.name] = self._add_route(spec, factory)
        self._add_gateway_responses()
        self._protect_stage()
        acknowledge(
            self.rest_api,
            "AwsSolutions-COG4",
            "Clients are machines holding team API keys (Authorization: Bearer), checked by the Lambda "
            "TOKEN authorizer; there is no Cognito user pool",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG2",
            "Handlers validate every body, query and path parameter with the route's pydantic model and "
            "answer in the surface's documented error format; API Gateway validation would answer differently",
        )
        if config.api.create_cloudwatch_role:
            acknowledge(
                self.rest_api,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                "The account-level role API Gateway uses to write execution logs; AWS's managed policy is "
                "the documented way and grants only CloudWatch Logs writes",
            )

    @property
    def url(self) -> str:
        """The stage URL (``https://<id>.execute-api.<region>.amazonaws.com/<stage>/``)."""
        return self.rest_api.url

    def _add_route(self, spec: FunctionSpec, factory: FunctionFactory) -> apigw.Method:
        assert spec.http is not None
        timeout = self._config.lambda_.timeout_for(spec.capability)
        if timeout > API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS:
            raise ValueError(
                f"route {spec.name}: timeout {timeout}s exceeds API Gateway's "
                f"{API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS}s integration timeout"
            )
        function = factory.create(self, spec, shared_role=True)
        requires_key = spec.http.requires_api_key
        method = self._resource(spec.http.path).add_method(
            spec.http.method,
            # Test invocations from the console are not needed; skipping them halves the permissions.
            apigw.LambdaIntegration(function, allow_test_invoke=False),
            operation_name=spec.name,
            authorizer=self.authorizer if requires_key else None,
            authorization_type=apigw.AuthorizationType.CUSTOM if requires_key else apigw.AuthorizationType.NONE,
        )
        if not requires_key:
            acknowledge(method, "AwsSolutions-APIG4", _NO_AUTHORIZER_REASONS[spec.http.auth])
        return method

    def _resource(self, path: str) -> apigw.IResource:
        """The resource for ``path``, creating missing segments (``/a/{id}/b`` -> a, {id}, b)."""
        segments = path.strip("/").split("/")
        current = self.rest_api.root
        for depth in range(len(segments)):
            key = "/".join(segments[: depth + 1])
            if key not in self._resources:
                self._resources[key] = current.add_resource(segments[depth])
            current = self._resources[key]
        return current

    def _add_gateway_responses(self) -> None:
        for response_type, (status, message, code) in _GATEWAY_ERROR_BODIES.items():
            self.rest_api.add_gateway_response(
                f"{code.capitalize()}Response",
                type=response_type,
                status_code=status,
                templates={"application/json": f'{{"detail":"{message}","error":"{message}","code":"{code}"}}'},
                response_headers={"WWW-Authenticate": "'Bearer'"} if status == "401" else None,
            )
        for response_type, name in (
            (apigw.ResponseType.DEFAULT_4_XX, "Default4xx"),
            (apigw.ResponseType.DEFAULT_5_XX, "Default5xx"),
        ):
            self.rest_api.add_gateway_response(
                f"{name}Response", type=response_type, templates={"application/json": _GATEWAY_DEFAULT_TEMPLATE}
            )

    def _protect_stage(self) -> None:
        stage = self.rest_api.deployment_stage
        if self._config.api.waf_web_acl_arn:
            wafv2.CfnWebACLAssociation(
                self, "WebAclAssociation", resource_arn=stage.stage_arn, web_acl_arn=self._config.api.waf_web_acl_arn
            )
        else:
            acknowledge(
                stage,
                "AwsSolutions-APIG3",
                "No WAF web ACL is configured for this stage (api.waf_web_acl_arn); throttling and the API-key "
                "authorizer still apply. Set an ACL for internet-facing production stages",
            )
        if self._config.api.execution_logging_level == "OFF":
            acknowledge(
                stage,
                "AwsSolutions-APIG6",
                "Execution logging is switched off by api.execution_logging_level=OFF (e.g. no account-level "
                "CloudWatch role); access logs still record every request",
            )


def _access_log_format() -> apigw.AccessLogFormat:
    """One JSON line per request; the error message field is already a quoted JSON string."""
    field = apigw.AccessLogField
    quoted = {
        "requestId": field.context_request_id(),
        "requestTime": field.context_request_time(),
        "ip": field.context_identity_source_ip(),
        "userAgent": field.context_identity_user_agent(),
        "httpMethod": field.context_http_method(),
        "resourcePath": field.context_resource_path(),
        "path": field.context_path(),
        "status": field.context_status(),
        "protocol": field.context_protocol(),
        "responseLength": field.context_response_length(),
        "responseLatency": field.context_response_latency(),
        "integrationLatency": field.context_integration_latency(),
        "integrationStatus": field.context_integration_status(),
        "principalId": field.context_authorizer_principal_id(),
        "authorizerError": field.context_authorizer_error(),
        "errorType": field.context_error_response_type(),
        "xrayTraceId": field.context_xray_trace_id(),
    }
    parts = [f'"{name}":"{value}"' for name, value in quoted.items()]
    parts.append(f'"errorMessage":{field.context_error_message_string()}')
    return apigw.AccessLogFormat.custom("{" + ",".join(parts) + "}")
