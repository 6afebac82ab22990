"""The REST API exposes each route row as one method, behind the authorizer where the row says so."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from tests.infra.infra_template import functions_by_name, logical_id_of, resources_of_type


def _method_paths(template) -> dict[tuple[str, str], dict]:
    """(HTTP method, path) -> method properties, with paths rebuilt from the resource tree."""
    resources = resources_of_type(template, "AWS::ApiGateway::Resource")

    def path_of(reference) -> str:
        logical_id = logical_id_of(reference)
        if logical_id not in resources:  # the RestApi's root resource
            return ""
        properties = resources[logical_id]["Properties"]
        return f"{path_of(properties['ParentId'])}/{properties['PathPart']}"

    return {
        (method["Properties"]["HttpMethod"], path_of(method["Properties"]["ResourceId"])): method["Properties"]
        for method in resources_of_type(template, "AWS::ApiGateway::Method").values()
    }


def test_one_method_per_route_row(synthesized, template):
    template.resource_count_is("AWS::ApiGateway::Method", len(synthesized.routes.routes))
    methods = _method_paths(synthesized.template())
    assert set(methods) == {(spec.http.method, spec.http.path) for spec in synthesized.routes.routes}


def test_authorization_type_follows_the_rows_auth(synthesized):
    methods = _method_paths(synthesized.template())
    for spec in synthesized.routes.routes:
        method = methods[(spec.http.method, spec.http.path)]
        if spec.http.auth == "api_key":
            assert method["AuthorizationType"] == "CUSTOM", spec.name
            assert "AuthorizerId" in method, spec.name
        else:
            assert method["AuthorizationType"] == "NONE", spec.name
            assert "AuthorizerId" not in method, spec.name


def test_each_method_invokes_its_own_rows_function(synthesized):
    template = synthesized.template()
    methods = _method_paths(template)
    functions = functions_by_name(template)
    for spec in synthesized.routes.routes:
        integration = methods[(spec.http.method, spec.http.path)]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert functions[spec.name][0] in json.dumps(integration["Uri"]), spec.name


def test_token_authorizer_reads_the_authorization_header_and_caches(synthesized, template):
    ttl = synthesized.default_config.api.authorizer_cache_ttl_seconds
    assert ttl == 300
    template.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {"Type": "TOKEN", "IdentitySource": "method.request.header.Authorization", "AuthorizerResultTtlInSeconds": ttl},
    )
    (authorizer,) = resources_of_type(synthesized.template(), "AWS::ApiGateway::Authorizer").values()
    authorizer_function_id = functions_by_name(synthesized.template())["authorizer"][0]
    assert authorizer_function_id in json.dumps(authorizer["Properties"]["AuthorizerUri"])


def test_stage_throttles_traces_and_writes_access_logs(synthesized, template):
    api = synthesized.default_config.api
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": synthesized.default_config.stage,
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "ThrottlingRateLimit": api.throttling_rate_limit,
                            "ThrottlingBurstLimit": api.throttling_burst_limit,
                            "DataTraceEnabled": False,
                        }
                    )
                ]
            ),
        },
    )


def test_access_log_format_is_one_json_object(synthesized):
    (stage,) = resources_of_type(synthesized.template(), "AWS::ApiGateway::Stage").values()
    log_format = stage["Properties"]["AccessLogSetting"]["Format"]
    # API Gateway substitutes $context variables; with placeholders filled the line must be JSON.
    sample = log_format.replace("$context.error.messageString", '"message"')
    parsed = json.loads(sample)
    assert {"requestId", "status", "resourcePath", "principalId", "errorMessage"} <= set(parsed)


def test_unauthorized_and_forbidden_answer_json_for_both_surfaces(synthesized):
    responses = {
        properties["Properties"]["ResponseType"]: properties["Properties"]
        for properties in resources_of_type(synthesized.template(), "AWS::ApiGateway::GatewayResponse").values()
    }
    for response_type, status in (("UNAUTHORIZED", "401"), ("ACCESS_DENIED", "403")):
        response = responses[response_type]
        assert response["StatusCode"] == status
        body = json.loads(response["ResponseTemplates"]["application/json"])
        # "detail" for /workflows/v1 clients, "error"/"code" for /api/v1/schedules clients.
        assert {"detail", "error", "code"} <= set(body)


def test_a_throttled_or_refused_invocation_answers_a_retryable_status_with_retry_after(synthesized):
    # Given API Gateway's own answers in the template
    responses = {
        properties["Properties"]["ResponseType"]: properties["Properties"]
        for properties in resources_of_type(synthesized.template(), "AWS::ApiGateway::GatewayResponse").values()
    }
    # Then the stage's throttle is a 429 and Lambda's refusal (a function at its reserved concurrency,
    # 500 by default) a 503, both with Retry-After and a body both API surfaces read
    for response_type, status in (("THROTTLED", "429"), ("INTEGRATION_FAILURE", "503")):
        response = responses[response_type]
        assert response["StatusCode"] == status
        assert response["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert {"detail", "error", "code"} <= set(body)


def test_stage_url_is_a_stack_output(template):
    template.has_output("ApiUrl", {"Value": Match.any_value()})


def test_waf_is_associated_when_configured(synthesized, full_template, template):
    full_template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation", {"WebACLArn": synthesized.full_config.api.waf_web_acl_arn}
    )
    template.resource_count_is("AWS::WAFv2::WebACLAssociation", 0)
