"""The REST API: its resource tree, the API-key authorizer, the deployment and the stage.

The methods and their functions are built per route-table group, each group in a nested stack of
its own (``RouteGroup``), so that no template comes near CloudFormation's resource limit. The
resource tree is shared by the groups (``/workflows/v1/workflows/{id}`` serves routes of several),
so it is built here, once, and the groups attach their methods to it by id.

The deployment is built here too, after every group: it depends on each nested stack (API Gateway
refuses to deploy an API before its methods exist) and its logical id carries a fingerprint of the
route table, so adding, removing or re-authorizing a route creates a new deployment, and the stage
serves it.
"""

from __future__ import annotations

import hashlib
import json

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import ServiceConfig
from infra.constructs.common import acknowledge, construct_id, log_retention, removal_policy
from infra.constructs.function_factory import FunctionFactory
from infra.constructs.route_group import RouteGroup
from infra.route_table import RouteTable

# One body for both API surfaces: /workflows/v1 clients read "detail" (FastAPI style), seed 002's
# /api/v1/schedules clients read "error" and "code". Gateway responses cannot differ by path.
_GATEWAY_ERROR_BODIES = {
    apigw.ResponseType.UNAUTHORIZED: ("401", "Not authenticated", "UNAUTHORIZED"),
    apigw.ResponseType.ACCESS_DENIED: ("403", "Not authorized for this resource", "FORBIDDEN"),
    # The stage's own rate limit.
    apigw.ResponseType.THROTTLED: ("429", "Too many requests; retry shortly", "TOO_MANY_REQUESTS"),
    # Lambda refusing the invocation (above all a function at its reserved concurrency, which the
    # connection budget sets) reaches API Gateway as an integration failure, answered 500 by default:
    # for the client it is a busy service to retry, not a fault.
    apigw.ResponseType.INTEGRATION_FAILURE: ("503", "The service is at capacity; retry shortly", "SERVICE_UNAVAILABLE"),
}
# The retryable answers above tell the client when to come back.
_RETRY_AFTER_SECONDS = {"429": 1, "503": 1}
# Any other error API Gateway answers by itself (throttling, unknown route, integration timeout).
_GATEWAY_DEFAULT_TEMPLATE = (
    '{"detail":$context.error.messageString,"error":$context.error.messageString,"code":"$context.error.responseType"}'
)


class Api(Construct):
    """``rest_api``, ``authorizer``, ``route_groups`` (group -> RouteGroup), ``methods`` (route name ->
    Method), ``deployment`` and ``stage``."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        config: ServiceConfig,
        factory: FunctionFactory,
        routes: RouteTable,
    ) -> None:
        super().__init__(scope, construct_id_)
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
            # The deployment is made below, once every group's methods exist.
            deploy=False,
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
        for spec in routes.routes:
            assert spec.http is not None
            self.resource_for(spec.http.path)
        self.route_groups: dict[str, RouteGroup] = {
            group: RouteGroup(
                self,
                f"{construct_id(group)}Routes",
                config=config,
                group=group,
                routes=group_routes,
                factory=factory,
                resource_for=self.resource_for,
                authorizer=self.authorizer,
            )
            for group, group_routes in routes.groups.items()
        }
        self.methods: dict[str, apigw.Method] = {
            name: method for group in self.route_groups.values() for name, method in group.methods.items()
        }
        self._add_gateway_responses()
        self.deployment = apigw.Deployment(
            self, "Deployment", api=self.rest_api, description=f"Workflow service API ({config.stage})"
        )
        self.deployment.add_to_logical_id(_api_fingerprint(config, routes))
        for group in self.route_groups.values():
            self.deployment.node.add_dependency(group)
        self.stage = apigw.Stage(
            self,
            "Stage",
            deployment=self.deployment,
            stage_name=config.stage,
            throttling_rate_limit=config.api.throttling_rate_limit,
            throttling_burst_limit=config.api.throttling_burst_limit,
            tracing_enabled=True,
            logging_level=apigw.MethodLoggingLevel(config.api.execution_logging_level),
            # Request/response bodies hold customer data: never in execution logs.
            data_trace_enabled=False,
            access_log_destination=apigw.LogGroupLogDestination(access_logs),
            access_log_format=_access_log_format(),
        )
        self._protect_stage()
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
        return self.stage.url_for_path()

    def resource_for(self, path: str) -> apigw.IResource:
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
                response_headers=_gateway_headers(status),
            )
        for response_type, name in (
            (apigw.ResponseType.DEFAULT_4_XX, "Default4xx"),
            (apigw.ResponseType.DEFAULT_5_XX, "Default5xx"),
        ):
            self.rest_api.add_gateway_response(
                f"{name}Response", type=response_type, templates={"application/json": _GATEWAY_DEFAULT_TEMPLATE}
            )

    def _protect_stage(self) -> None:
        stage = self.stage
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


def _api_fingerprint(config: ServiceConfig, routes: RouteTable) -> str:
    """What the deployed API is made of, hashed: a change to any of it must create a new deployment."""
    described = {
        "functions": config.resource_prefix,
        "routes": [
            (spec.name, spec.http.method, spec.http.path, spec.http.auth) for spec in routes.routes if spec.http
        ],
        "authorizer_cache_ttl_seconds": config.api.authorizer_cache_ttl_seconds,
        "gateway_responses": [
            [str(response_type.response_type), *body] for response_type, body in _GATEWAY_ERROR_BODIES.items()
        ]
        + [_GATEWAY_DEFAULT_TEMPLATE],
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


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


def _gateway_headers(status: str) -> dict[str, str] | None:
    """The headers of one of API Gateway's own answers (values are quoted static strings)."""
    if status == "401":
        return {"WWW-Authenticate": "'Bearer'"}
    if status in _RETRY_AFTER_SECONDS:
        return {"Retry-After": f"'{_RETRY_AFTER_SECONDS[status]}'"}
    return None
