"""An http_request node's string body: JSON text is filled value by value, any other text as it is."""

from __future__ import annotations

import json

import pytest

from tests.fakes.http import json_response
from tests.support.workflow_builders import node
from tests.unit.engine.engine_support import of_type
from workflow_service.models.runs import RunStatus

URL = "https://api.example.com/notes"
INJECTION = '", "admin": true, "x": "'


def post(body: str, headers: dict[str, str] | None = None) -> dict:
    request = {"method": "POST", "url": URL, "headers": headers or {}, "body": body}
    return {"nodes": [node("send", "http_request", is_start=True, http_request_config=request)]}


@pytest.fixture
def sent(run, http):
    """sent(config, **run_input) -> the one request the run made, after checking the run completed."""
    http.route("POST", URL, json_response(200, b"{}"))

    def run_and_take(config: dict, **run_input):
        result = run(config, **run_input)
        assert result.status is RunStatus.COMPLETED, result.error
        (request,) = http.requests
        return request

    return run_and_take


@pytest.mark.parametrize(
    "headers",
    [{}, {"Content-Type": "application/json; charset=utf-8"}, {"content-type": "application/vnd.api+json"}],
    ids=["no-content-type", "application-json", "plus-json"],
)
def test_given_a_json_body_template_when_the_user_message_holds_quotes_then_it_is_the_value_and_adds_no_field(
    sent, headers
):
    # Given a string body that quotes the user's message, sent as JSON or with no Content-Type at all
    config = post('{"text": "[[last_user_message]]", "channel": "sms"}', headers)
    # When the user's message tries to close the string and add a field
    request = sent(config, message=INJECTION)
    # Then the body is JSON with exactly the intended keys, the whole message being the text
    assert json.loads(request.body) == {"text": INJECTION, "channel": "sms"}
    # and a body with no Content-Type goes out labelled as the JSON it is (as a dict body does)
    assert {name.lower(): value for name, value in request.headers.items()}["content-type"] == (
        headers.get("Content-Type") or headers.get("content-type") or "application/json"
    )


def test_given_a_json_body_template_then_backslashes_and_line_breaks_in_values_round_trip(sent):
    # Given a value with backslashes, line breaks, a tab, quotes and non-ASCII text
    note = 'C:\\temp\\new\\\nline two\r\n\t"quoted" \\" é ✓'
    config = post('{"note": "{{note}}", "where": "in \\"[[thread]]\\"", "list": ["[[thread]]"]}')
    # When it fills string literals of the body, one after an escaped quote of the template
    request = sent(config, dynamic_variables={"note": note}, runtime_variables={"thread": "a\\b\n"})
    # Then each value reads back exactly as it was
    assert json.loads(request.body) == {"note": note, "where": 'in "a\\b\n"', "list": ["a\\b\n"]}


def test_given_a_number_placeholder_outside_quotes_then_it_stays_a_number(sent):
    # Given placeholders written without quotes for a count, a price, a flag and an empty value
    config = post('{"count": {{n}}, "price": [[price]], "urgent": [[urgent]], "none": [[nothing]]}')
    # When they are filled
    request = sent(
        config, dynamic_variables={"n": 3}, runtime_variables={"price": 9.5, "urgent": True, "nothing": None}
    )
    # Then each is the JSON value of its variable
    assert json.loads(request.body) == {"count": 3, "price": 9.5, "urgent": True, "none": None}


def test_given_a_string_placeholder_outside_quotes_then_it_becomes_a_quoted_json_string(sent):
    # Given text and structured variables placed without quotes, one of them hostile
    config = post('{"name": {{name}}, "text": [[last_user_message]], "patient": [[patient]], "ids": [[ids]]}')
    # When they are filled
    request = sent(
        config,
        message=INJECTION,
        dynamic_variables={"name": "Ann"},
        runtime_variables={"patient": {"id": 7, "tags": ["a"]}, "ids": [1, 2]},
    )
    # Then text is a JSON string (the hostile one included) and dicts and lists are JSON values
    assert json.loads(request.body) == {
        "name": "Ann",
        "text": INJECTION,
        "patient": {"id": 7, "tags": ["a"]},
        "ids": [1, 2],
    }


def test_given_text_that_is_one_json_value_outside_quotes_then_it_is_sent_as_that_value(sent):
    # Given dynamic variables (text, as the API takes them) placed without quotes, one of them hostile
    config = post('{"count": {{count}}, "flag": {{flag}}, "data": {{data}}, "text": {{text}}}')
    # When they are filled
    request = sent(
        config,
        dynamic_variables={"count": "5", "flag": "true", "data": '{"a": [1, 2]}', "text": '5, "admin": true'},
    )
    # Then text that is one whole JSON value keeps the meaning the raw fill gave it, and the rest is
    # a string that adds no field
    assert json.loads(request.body) == {"count": 5, "flag": True, "data": {"a": [1, 2]}, "text": '5, "admin": true'}


def test_given_non_string_values_inside_quotes_then_they_read_as_fill_text_writes_them(sent):
    # Given a number, a flag, nothing and a dict placed inside string literals
    config = post('{"summary": "n=[[n]] ok=[[ok]] none=[[nothing]] patient=[[patient]]"}')
    # When they are filled
    request = sent(config, runtime_variables={"n": 2, "ok": True, "nothing": None, "patient": {"name": 'A "B"'}})
    # Then each reads as its text (JSON for all but strings and numbers), escaped in the string
    assert json.loads(request.body) == {"summary": 'n=2 ok=true none=null patient={"name": "A \\"B\\""}'}


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Type": "text/plain"}, '{"text": "[[last_user_message]]"}\n'),
        ({"Content-Type": "application/x-www-form-urlencoded"}, "text=[[last_user_message]]&to={{to}}"),
        ({}, "text=[[last_user_message]]&to={{to}}"),
    ],
    ids=["text-plain", "form-encoded", "no-content-type"],
)
def test_given_a_body_that_is_not_json_then_it_is_still_filled_raw(sent, headers, body):
    # Given a body that is text (by its Content-Type, or by its text when there is none)
    message = 'say "hi"\\\n&x=1'
    # When it is filled
    request = sent(post(body, headers), message=message, dynamic_variables={"to": "+1 555"})
    # Then every value is pasted as it is, and the headers stay the author's
    expected = body.replace("[[last_user_message]]", message).replace("{{to}}", "+1 555")
    assert request.body == expected.encode()
    assert request.headers == headers


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "application/json"}], ids=["no-content-type", "json"])
def test_given_a_body_that_is_exactly_one_placeholder_then_the_variable_text_is_the_whole_body(sent, headers):
    # Given a body that is one variable holding JSON text (as an LLM's output may)
    payload = '{"a": 1, "b": "x"}'
    # When it is filled
    request = sent(post(" [[payload]] ", headers), runtime_variables={"payload": payload})
    # Then the text is the body as it was, not a quoted JSON string
    assert request.body == f" {payload} ".encode()


def test_given_a_json_body_naming_a_missing_variable_then_the_run_fails_naming_it(run, http):
    # Given a JSON body whose placeholder names no variable
    config = post('{"text": "[[nowhere]]"}')
    # When the node runs
    result = run(config)
    # Then the run fails as for any missing variable, and nothing is sent
    assert result.status is RunStatus.FAILED
    assert "runtime variable 'nowhere' is not defined" in result.error
    assert of_type(result, "workflow_error") and http.requests == []


def test_given_a_placeholder_right_after_a_backslash_in_a_json_string_then_the_run_fails_and_nothing_is_sent(run, http):
    # Given a template whose backslash would escape the first character of the value (invalid JSON)
    config = post('{"text": "\\[[last_user_message]]"}')
    # When the node runs with a message starting with a quote
    result = run(config, message='"}, "admin": true}')
    # Then the run fails naming the node and the placeholder, and nothing is sent
    assert result.status is RunStatus.FAILED
    assert "node 'send'" in result.error and "[[last_user_message]] follows a backslash" in result.error
    assert http.requests == []
