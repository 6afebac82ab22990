"""A new user's first minutes, over HTTP against ``python -m local``: key -> workflow -> versions."""

from __future__ import annotations

import pytest

from tests.support.local_runtime import LocalService

V1 = "/workflows/v1"


@pytest.fixture(scope="module")
def service():
    running = LocalService()
    yield running
    running.stop()


def test_banner_gives_urls_key_and_a_curl(service):
    assert f"{service.base_url}/workflows/v1/docs" in service.banner
    assert service.api_key in service.banner
    assert "curl" in service.banner


def test_walkthrough_create_version_activate_list(service):
    status, created, _ = service.request(
        "POST",
        f"{V1}/workflows",
        {
            "name": "Intake",
            "workflow_config": {
                "nodes": [
                    {
                        "logical_id": "hi",
                        "type": "say_static",
                        "is_start": True,
                        "static_messages_config": {"static_messages": ["Hello"]},
                    }
                ]
            },
        },
    )
    assert status == 200, created
    workflow_id = created["workflow"]["_id"]

    status, version, _ = service.request("POST", f"{V1}/workflows/{workflow_id}/versions", {"version_name": "v1"})
    assert status == 200 and version["version"]["version_number"] == 1

    status, activated, _ = service.request("POST", f"{V1}/workflows/{workflow_id}/versions/1/activate")
    assert status == 200 and activated["workflow"]["active_version_number"] == 1

    status, versions, _ = service.request("GET", f"{V1}/workflows/{workflow_id}/versions")
    assert [v["version_number"] for v in versions["versions"]] == [0, 1]

    status, listed, _ = service.request("GET", f"{V1}/workflows?search=intake")
    assert status == 200 and listed["total"] == 1 and listed["workflows"][0]["_id"] == workflow_id


def test_missing_and_wrong_keys_are_401(service):
    assert service.request("GET", f"{V1}/workflows", api_key=None)[0] == 401
    assert service.request("GET", f"{V1}/workflows", api_key="wfk_not_a_real_key")[0] == 401


def test_bad_input_over_http_names_the_field(service):
    status, body, _ = service.request("POST", f"{V1}/workflows", raw=b"{oops")
    assert status == 422 and body["detail"][0]["type"] == "json_invalid"
    status, body, _ = service.request("GET", f"{V1}/workflows/123")
    assert status == 422 and body["detail"][0]["loc"] == ["path", "workflow_id"]


def test_swagger_ui_and_openapi_are_served_offline(service):
    status, document, _ = service.request("GET", f"{V1}/openapi.json", api_key=None)
    assert status == 200 and document["openapi"].startswith("3.")
    assert f"{V1}/workflows/{{workflow_id}}/execute" in document["paths"]
    status, page, headers = service.request("GET", f"{V1}/docs", api_key=None)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in page and "https://" not in page.split("<script>")[0]
