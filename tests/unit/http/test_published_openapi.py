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
    published.published_openapi.cache_clear()
    yield path
    published.published_openapi.cache_clear()


def test_without_a_built_document_the_generated_one_is_served(built_document):
    assert not published.BUILT_DOCUMENT.exists()

    assert published.published_openapi() == openapi_document()


def test_a_built_document_is_served_as_written(built_document):
    # Given a built document that differs from what the code would generate
    built_document.write_text(json.dumps({"openapi": "3.1.0", "info": {"title": "as built"}, "paths": {}}))

    # Then it is served as it is, without generating
    assert published.published_openapi()["info"] == {"title": "as built"}


def test_the_layer_build_writes_the_generated_document_where_the_copy_reads_it(tmp_path):
    (tmp_path / "http").mkdir()

    path = published.write_document(tmp_path)

    assert path == tmp_path / "http" / published.BUILT_DOCUMENT.name
    assert json.loads(path.read_text()) == json.loads(json.dumps(openapi_document()))


def test_the_source_tree_carries_no_built_document():
    # A document left in the source tree would be served even after the code it describes changed.
    assert not published.BUILT_DOCUMENT.exists()
