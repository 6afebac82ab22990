"""An http_request node's URL: a placeholder in a query value is percent-encoded, elsewhere filled as text."""

from __future__ import annotations

import urllib.parse

import pytest

from tests.fakes.http import json_response
from tests.support.workflow_builders import node
from workflow_service.engine.templating import UrlEncoded, fill_url
from workflow_service.models.runs import RunStatus

HOSTILE = "a b&admin=1#cut"


def get(url: str) -> dict:
    request = {"method": "GET", "url": url}
    return {"nodes": [node("fetch", "http_request", is_start=True, http_request_config=request)]}


class _Scope:
    def __init__(self, values: dict) -> None:
        self._values = values

    def resolve_placeholder(self, match):
        return self._values[match.group("dynamic") or match.group("runtime")]


def test_given_a_user_message_in_a_query_value_then_it_is_one_parameter_and_cuts_nothing(run, http):
    # Given a node that searches for the user's message
    http.route("GET", "https://api.example.com/search?q=a%20b%26admin%3D1%23cut&limit=5", json_response(200, b"{}"))
    config = get("https://api.example.com/search?q=[[last_user_message]]&limit=5")
    # When the message holds a space, an ampersand, an equals sign and a hash
    result = run(config, message=HOSTILE)
    # Then the query has exactly the intended parameters, the whole message being q
    assert result.status is RunStatus.COMPLETED, result.error
    (request,) = http.requests
    query = urllib.parse.urlsplit(request.url).query
    assert urllib.parse.parse_qs(query) == {"q": [HOSTILE], "limit": ["5"]}
    assert "#" not in request.url


@pytest.mark.parametrize(
    ("template", "values", "filled"),
    [
        # A variable may hold the base URL, a path or a whole query: filled as text.
        (
            "{{base}}/items?id={{id}}",
            {"base": "https://h.example/v1", "id": "7/8"},
            "https://h.example/v1/items?id=7%2F8",
        ),
        ("https://h.example/{{path}}", {"path": "a/b?c=d"}, "https://h.example/a/b?c=d"),
        ("https://h.example/x?{{query}}", {"query": "a=1&b=2"}, "https://h.example/x?a=1&b=2"),
        # A value after the template's own "=": encoded, a number as its text.
        ("https://h.example/x?a=1&b=pre-[[v]]", {"v": "x&y"}, "https://h.example/x?a=1&b=pre-x%26y"),
        ("https://h.example/x?n=[[n]]", {"n": 3}, "https://h.example/x?n=3"),
        # A parameter's name, and anything in the fragment, as text.
        ("https://h.example/x?[[k]]=1", {"k": "name"}, "https://h.example/x?name=1"),
        ("https://h.example/x?a=1#[[f]]", {"f": "s=1"}, "https://h.example/x?a=1#s=1"),
        # Only the template's own text decides: a value's "?" or "=" starts no query value.
        ("https://h.example/{{p}}[[v]]", {"p": "x?a=", "v": "b&c"}, "https://h.example/x?a=b&c"),
    ],
)
def test_fill_url_encodes_only_placeholders_standing_in_a_query_value(template, values, filled):
    assert fill_url(template, _Scope(values)) == filled


def test_fill_url_keeps_text_already_encoded_for_a_url_as_it_is():
    # A tool's argument arrives percent-encoded; encoding it again would send "%2526".
    assert (
        fill_url("https://h.example/x?q=[[arg]]", _Scope({"arg": UrlEncoded("a%26b")})) == "https://h.example/x?q=a%26b"
    )
