"""The local API Gateway emulation, driven over real HTTP on 127.0.0.1 with fake handlers.

Route names and paths are real rows of routes.json; the handlers and the authorizer are fakes that
record what they receive, so these tests pin the contract between the gateway and every handler.
"""

from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from local.gateway import LocalGateway

WORKFLOW_ID = "65f1a2b3c4d5e6f708192a3b"
GOOD_TOKEN = "Bearer good-key"
# No proxy from the environment may sit between the tests and 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def allow_all_policy(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:*"}],
        },
        "context": {"team_id": "team-1", "user_id": "user-1"},
    }


class FakeAuthorizer:
    """A TOKEN authorizer: 'good' keys are allowed, 'denied' gets a Deny policy, anything else raises."""

    def __init__(self, policy: Callable[[dict[str, Any]], dict[str, Any]] = allow_all_policy) -> None:
        self.events: list[dict[str, Any]] = []
        self._policy = policy

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        token = event["authorizationToken"]
        if token == "Bearer denied-key":
            answer = allow_all_policy(event)
            answer["policyDocument"]["Statement"][0]["Effect"] = "Deny"
            return answer
        if token.startswith("Bearer good"):
            return self._policy(event)
        raise Exception("Unauthorized")


class FakeHandlers:
    """Resolves route names to handlers that record their event and answer with a fixed response."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.contexts: list[Any] = []
        self.responses: dict[str, Callable[[dict[str, Any]], Any]] = {}

    def resolve(self, name: str) -> Callable[[dict[str, Any], Any], Any]:
        def handler(event: dict[str, Any], context: Any) -> Any:
            self.events.setdefault(name, []).append(event)
            self.contexts.append(context)
            respond = self.responses.get(name)
            if respond is not None:
                return respond(event)
            return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"ok":true}'}

        return handler

    def only_event(self, name: str) -> dict[str, Any]:
        assert len(self.events.get(name, [])) == 1, self.events
        return self.events[name][0]


class Reply:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def call(base_url: str, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None) -> Reply:
    request = urllib.request.Request(base_url + path, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=10) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


@pytest.fixture
def handlers() -> FakeHandlers:
    return FakeHandlers()


@pytest.fixture
def authorizer() -> FakeAuthorizer:
    return FakeAuthorizer()


@pytest.fixture
def start_gateway(handlers: FakeHandlers, authorizer: FakeAuthorizer) -> Iterator[Callable[..., str]]:
    started: list[LocalGateway] = []

    def start(ttl: float = 300, authorizer_handler: Any = None, cors_allow_origin: str | None = None) -> str:
        gateway = LocalGateway(
            "127.0.0.1",
            0,
            authorizer_handler or authorizer,
            resolve_handler=handlers.resolve,
            authorizer_cache_ttl_seconds=ttl,
            cors_allow_origin=cors_allow_origin,
        )
        started.append(gateway)
        return gateway.start()

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture
def base_url(start_gateway: Callable[..., str]) -> str:
    return start_gateway()


def test_a_handler_receives_the_rest_api_proxy_event_api_gateway_would_send(base_url, handlers):
    # Given a GET with path parameters, a repeated query parameter and a repeated header
    connection = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=10)
    connection.putrequest("GET", f"/workflows/v1/workflows/{WORKFLOW_ID}?tag=a&tag=b&q=hello%20world&empty=")
    connection.putheader("Authorization", GOOD_TOKEN)
    connection.putheader("X-Custom", "one")
    connection.putheader("X-Custom", "two")
    connection.endheaders()
    response = connection.getresponse()
    response.read()
    connection.close()

    # Then the get_workflow handler got API Gateway's proxy event for the route
    assert response.status == 200
    event = handlers.only_event("get_workflow")
    assert event["resource"] == "/workflows/v1/workflows/{workflow_id}"
    assert event["path"] == f"/workflows/v1/workflows/{WORKFLOW_ID}"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"workflow_id": WORKFLOW_ID}
    assert event["queryStringParameters"] == {"tag": "b", "q": "hello world", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "q": ["hello world"], "empty": [""]}
    assert event["headers"]["Authorization"] == GOOD_TOKEN
    assert event["headers"]["X-Custom"] == "two"
    assert event["multiValueHeaders"]["X-Custom"] == ["one", "two"]
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/workflows/v1/workflows/{workflow_id}"
    assert context["httpMethod"] == "GET"
    assert context["stage"] == "local"
    assert context["path"] == f"/local/workflows/v1/workflows/{WORKFLOW_ID}"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert isinstance(context["requestTimeEpoch"], int)
    assert context["requestId"]
    # ...carrying the authorizer's context for the handler to take the team from
    assert context["authorizer"]["team_id"] == "team-1"
    assert context["authorizer"]["user_id"] == "user-1"
    assert context["authorizer"]["principalId"] == "user-1"


def test_a_handler_gets_a_lambda_context_named_after_its_route(base_url, handlers):
    call(base_url, "GET", f"/workflows/v1/workflows/{WORKFLOW_ID}", headers={"Authorization": GOOD_TOKEN})

    [context] = handlers.contexts
    assert context.function_name == "get_workflow"
    assert context.invoked_function_arn.endswith(":function:get_workflow")
    assert context.aws_request_id
    assert context.memory_limit_in_mb
    assert 0 < context.get_remaining_time_in_millis() <= 30_000


def test_a_json_body_arrives_as_a_string_and_empty_parameters_as_none(base_url, handlers):
    payload = json.dumps({"name": "Intake", "description": "ünïcode"}).encode("utf-8")

    reply = call(
        base_url,
        "POST",
        "/workflows/v1/workflows",
        body=payload,
        headers={"Authorization": GOOD_TOKEN, "Content-Type": "application/json"},
    )

    assert reply.status == 200
    event = handlers.only_event("create_workflow")
    assert event["body"] == payload.decode("utf-8")
    assert event["isBase64Encoded"] is False
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_a_body_that_is_not_utf8_arrives_base64_encoded(base_url, handlers):
    raw = b"\xff\xfe\x00binary"

    call(base_url, "POST", "/workflows/v1/workflows", body=raw, headers={"Authorization": GOOD_TOKEN})

    event = handlers.only_event("create_workflow")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_the_proxy_response_is_written_back_with_status_headers_and_decoded_body(base_url, handlers):
    handlers.responses["create_workflow"] = lambda event: {
        "statusCode": 201,
        "headers": {"Content-Type": "application/octet-stream", "X-Single": "s"},
        "multiValueHeaders": {"X-Multi": ["m1", "m2"]},
        "body": base64.b64encode(b"\x00\x01payload").decode("ascii"),
        "isBase64Encoded": True,
    }

    reply = call(base_url, "POST", "/workflows/v1/workflows", body=b"{}", headers={"Authorization": GOOD_TOKEN})

    assert reply.status == 201
    assert reply.body == b"\x00\x01payload"
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert reply.headers["X-Single"] == "s"
    assert reply.headers.get_all("X-Multi") == ["m1", "m2"]


def test_a_missing_authorization_header_is_401_without_calling_the_authorizer(base_url, handlers, authorizer):
    reply = call(base_url, "GET", f"/workflows/v1/workflows/{WORKFLOW_ID}")

    assert reply.status == 401
    assert reply.json() == {"message": "Unauthorized"}
    assert authorizer.events == []
    assert handlers.events == {}


def test_an_authorizer_raising_unauthorized_is_401(base_url, handlers, authorizer):
    reply = call(base_url, "GET", f"/workflows/v1/workflows/{WORKFLOW_ID}", headers={"Authorization": "Bearer nope"})

    assert reply.status == 401
    assert reply.json() == {"message": "Unauthorized"}
    assert authorizer.events[0]["type"] == "TOKEN"
    assert authorizer.events[0]["authorizationToken"] == "Bearer nope"
    assert handlers.events == {}


def test_the_authorizer_gets_the_method_arn_of_the_concrete_request(base_url, authorizer):
    call(base_url, "DELETE", f"/workflows/v1/workflows/{WORKFLOW_ID}", headers={"Authorization": GOOD_TOKEN})

    assert authorizer.events[0]["methodArn"] == (
        f"arn:aws:execute-api:local:000000000000:local/local/DELETE/workflows/v1/workflows/{WORKFLOW_ID}"
    )


def test_a_deny_policy_is_403(base_url, handlers):
    reply = call(
        base_url, "GET", f"/workflows/v1/workflows/{WORKFLOW_ID}", headers={"Authorization": "Bearer denied-key"}
    )

    assert reply.status == 403
    assert reply.json() == {"message": "User is not authorized to access this resource"}
    assert handlers.events == {}


def test_authorizer_results_are_cached_per_token_for_the_ttl(start_gateway, authorizer):
    base_url = start_gateway(ttl=300)

    for _ in range(2):
        reply = call(base_url, "GET", f"/workflows/v1/workflows/{WORKFLOW_ID}", headers={"Authorization": GOOD_TOKEN})
        assert reply.status == 200
    call(base_url, "GET", f"/workflows/v1/workflows/{WORKFLOW_ID}", headers={"Authorization": "Bearer good-other"})

    assert [event["authorizationToken"] for event in authorizer.events] == [GOOD_TOKEN, "Bearer good-other"]


def test_a_zero_ttl_calls_the_authorizer_on_every_request(start_gateway, authorizer):
    base_url = start_gateway(ttl=0)

    for _ in range(2):
        call(base_url, "GET", f"/workflows/v1/workflows/{WORKFLOW_ID}", headers={"Authorization": GOOD_TOKEN})

    assert len(authorizer.events) == 2


def test_a_cached_policy_scoped_to_one_method_arn_denies_other_requests_like_api_gateway(start_gateway, handlers):
    # Given an authorizer that allows only the exact methodArn it was asked about (a classic caching bug)
    def exact_arn_policy(event: dict[str, Any]) -> dict[str, Any]:
        answer = allow_all_policy(event)
        answer["policyDocument"]["Statement"][0]["Resource"] = event["methodArn"]
        return answer

    base_url = start_gateway(ttl=300, authorizer_handler=FakeAuthorizer(exact_arn_policy))
    headers = {"Authorization": GOOD_TOKEN}

    first = call(base_url, "GET", f"/workflows/v1/workflows/{WORKFLOW_ID}", headers=headers)
    second = call(base_url, "GET", "/workflows/v1/workflows", headers=headers)

    # Then the cached policy is evaluated against the second request's ARN and denies it
    assert first.status == 200
    assert second.status == 403
    assert "list_workflows" not in handlers.events


def test_an_unknown_path_is_404(base_url, authorizer):
    reply = call(base_url, "GET", "/api/v9/nothing-here", headers={"Authorization": GOOD_TOKEN})

    assert reply.status == 404
    assert reply.json() == {"detail": "Not Found"}
    assert authorizer.events == []


def test_an_unknown_path_under_workflows_v1_goes_to_the_catch_all_route_only(base_url, authorizer, handlers):
    # Given the route table's catch-all under /workflows/v1
    # When a path no other route serves is called, with any method
    unknown = call(base_url, "DELETE", "/workflows/v1/templates/t1", headers={"Authorization": GOOD_TOKEN})
    # Then the catch-all serves it, without the authorizer; a path another route serves never reaches it
    assert unknown.status == 200 and authorizer.events == []
    assert [event["path"] for event in handlers.events["unsupported_surface"]] == ["/workflows/v1/templates/t1"]
    call(base_url, "GET", "/workflows/v1/workflows/abc", headers={"Authorization": GOOD_TOKEN})
    assert len(handlers.events["unsupported_surface"]) == 1 and "get_workflow" in handlers.events


def test_a_known_path_with_an_unrouted_method_is_405(base_url, handlers):
    reply = call(base_url, "PUT", "/workflows/v1/workflows", body=b"{}", headers={"Authorization": GOOD_TOKEN})

    assert reply.status == 405
    assert reply.json() == {"detail": "Method Not Allowed"}
    assert handlers.events == {}


def test_a_handler_exception_is_502_internal_server_error(base_url, handlers):
    def explode(event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    handlers.responses["get_workflow"] = explode

    reply = call(base_url, "GET", f"/workflows/v1/workflows/{WORKFLOW_ID}", headers={"Authorization": GOOD_TOKEN})

    assert reply.status == 502
    assert reply.json() == {"message": "Internal server error"}


def test_a_malformed_proxy_response_is_502(base_url, handlers):
    # API Gateway requires body to be a string; returning a dict is a bug that must show up locally.
    handlers.responses["get_workflow"] = lambda event: {"statusCode": 200, "body": {"not": "a string"}}

    reply = call(base_url, "GET", f"/workflows/v1/workflows/{WORKFLOW_ID}", headers={"Authorization": GOOD_TOKEN})

    assert reply.status == 502
    assert reply.json() == {"message": "Internal server error"}


def test_routes_without_api_key_auth_skip_the_authorizer(base_url, handlers, authorizer):
    docs = call(base_url, "GET", "/workflows/v1/openapi.json")
    hook = call(base_url, "POST", "/workflows/v1/hooks/trg_123", body=b'{"x":1}')

    assert docs.status == 200
    assert hook.status == 200
    assert authorizer.events == []
    assert "authorizer" not in handlers.only_event("get_openapi")["requestContext"]
    assert handlers.only_event("receive_webhook")["pathParameters"] == {"trigger_id": "trg_123"}


def test_without_a_configured_origin_no_answer_carries_a_cors_header(base_url, authorizer, handlers):
    # Given the default local runtime (no WORKFLOWS_LOCAL_CORS_ALLOW_ORIGIN)
    # When a web page's preflight and a request arrive
    preflight = call(
        base_url,
        "OPTIONS",
        f"/workflows/v1/workflows/{WORKFLOW_ID}",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    answer = call(base_url, "GET", "/openapi.json", headers={"Origin": "https://evil.example"})

    # Then neither lets a browser hand the answer to another origin
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_a_cors_preflight_from_the_configured_origin_is_answered_without_auth(start_gateway, authorizer, handlers):
    # Given one origin allowed
    base_url = start_gateway(cors_allow_origin="http://localhost:3000")

    # When its preflight arrives
    reply = call(
        base_url,
        "OPTIONS",
        f"/workflows/v1/workflows/{WORKFLOW_ID}",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "PATCH"},
    )

    # Then it is answered for that origin only, without calling the authorizer or a handler
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert set(reply.headers["Access-Control-Allow-Methods"].split(",")) >= {"GET", "PATCH", "DELETE"}
    assert "Authorization" in reply.headers["Access-Control-Allow-Headers"]
    assert authorizer.events == []
    assert handlers.events == {}


def test_start_picks_a_free_port_and_stop_releases_it(handlers, authorizer):
    gateway = LocalGateway("127.0.0.1", 0, authorizer, resolve_handler=handlers.resolve)
    base_url = gateway.start()
    try:
        assert base_url == gateway.base_url
        assert urlsplit(base_url).port not in (None, 0)
        assert call(base_url, "GET", "/workflows/v1/openapi.json").status == 200
    finally:
        gateway.stop()

    with pytest.raises(urllib.error.URLError):
        _OPENER.open(base_url + "/workflows/v1/openapi.json", timeout=5)


def test_a_request_line_past_what_the_server_reads_is_a_414_that_the_openapi_documents(base_url, handlers):
    # Given a query of many repeated values, past the 65,536 bytes the local server reads of a request line
    from workflow_service.http.openapi import openapi_document

    query = "&".join(["version_numbers=1"] * 5000)
    # When it is sent, Then the server answers 414 before any handler runs
    reply = call(base_url, "GET", f"/workflows/v1/workflows?{query}")
    assert reply.status == 414
    # and every operation that takes a query documents that answer
    document = openapi_document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if any(parameter["in"] == "query" for parameter in operation.get("parameters", [])):
                assert "414" in operation["responses"], (method, path)
