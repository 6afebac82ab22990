"""What get_openapi serves: the document the layer build wrote, or, in the source tree, the generated one."""

from __future__ import annotations

import json

import pytest

from workflow_service.http import published_openapi as published
from workflow_service.http.openapi import openapi_document


@pytest.fixture
def built_document(tmp_path, monkeypatch):
    path = tmp_path / "openapi.json"
    monkeypatch.setattr(published, "BUILT_DOCUMENT", path)
    published._document_text.cache_clear()
    yield path
    published._document_text.cache_clear()


SERVERS = [{"url": "/prod"}]


def test_without_a_built_document_the_generated_one_is_served(built_document):
    assert not published.BUILT_DOCUMENT.exists()

    assert json.loads(published.published_openapi(SERVERS)) == {**openapi_document(), "servers": SERVERS}


def test_a_built_document_is_served_as_written(built_document):
    # Given a built document that differs from what the code would generate
    built_document.write_text(json.dumps({"openapi": "3.1.0", "info": {"title": "as built"}, "paths": {}}))

    # Then it is served as it is, without generating, with the request's servers
    assert json.loads(published.published_openapi(SERVERS)) == {
        "servers": SERVERS,
        "openapi": "3.1.0",
        "info": {"title": "as built"},
        "paths": {},
    }


def test_an_empty_built_document_is_served_as_valid_json(built_document):
    built_document.write_text("{}")

    assert json.loads(published.published_openapi(SERVERS)) == {"servers": SERVERS}


def test_the_servers_key_appears_once_even_if_the_generated_document_names_servers(built_document, monkeypatch):
    # Given a generator that names servers of its own
    from workflow_service.http import openapi

    monkeypatch.setattr(openapi, "openapi_document", lambda: {"openapi": "3.1.0", "servers": [{"url": "/x"}]})

    # Then the served text carries the request's servers and no second key
    text = published.published_openapi(SERVERS)
    assert text.count('"servers"') == 1
    assert json.loads(text) == {"servers": SERVERS, "openapi": "3.1.0"}


def test_the_layer_build_writes_the_generated_document_where_the_copy_reads_it(tmp_path):
    (tmp_path / "http").mkdir()

    path = published.write_document(tmp_path)

    assert path == tmp_path / "http" / published.BUILT_DOCUMENT.name
    assert json.loads(path.read_text()) == json.loads(json.dumps(openapi_document()))


def test_the_source_tree_carries_no_built_document():
    # A document left in the source tree would be served even after the code it describes changed.
    assert not published.BUILT_DOCUMENT.exists()


@pytest.mark.parametrize(
    ("request_context", "url"),
    [
        ({"stage": "prod", "domainName": "abc123.execute-api.eu-west-1.amazonaws.com"}, "/prod"),
        ({"stage": "prod", "domainName": "api.example.com"}, "/"),
        ({}, "/"),
    ],
)
def test_get_openapi_names_the_stage_prefix_only_behind_the_default_domain(request_context, url):
    # Given a GET of the document as API Gateway sends it
    from get_openapi import handler

    from tests.support.api import proxy_event

    event = proxy_event("get_openapi")
    event["requestContext"] = {**event.get("requestContext", {}), **request_context}

    # When the handler answers
    response = handler(event, None)

    # Then the body is the document, its servers saying where the API lives
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    document = json.loads(response["body"])
    assert document["servers"] == [{"url": url}]
    assert document["paths"] == openapi_document()["paths"]
