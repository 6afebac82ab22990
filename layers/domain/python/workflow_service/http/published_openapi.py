"""The OpenAPI document ``GET /workflows/v1/openapi.json`` serves.

Generating it builds the JSON Schema of every model the route table names: several hundred
milliseconds of CPU, which a cold ``get_openapi`` would spend on its first request (DESIGN.md section
10). So the layer build writes the document beside this module (``scripts/build_layer.py``) and the
deployed handler serves its text. Where no document was built (the source tree: the local runtime and
the tests), it is generated on first use, so it always matches the code it describes. The file is a
build output, never committed (.gitignore), so a stale copy cannot be served from the source tree.
"""

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

BUILT_DOCUMENT = Path(__file__).with_name("openapi.json")


def published_openapi(servers: list[dict[str, str]]) -> str:
    """The document as JSON text, with ``servers`` (which depend on how the request arrived) first.

    The text is served as it was built: parsing and re-serializing its 250 KB would be most of a cold
    request's own work."""
    rest = _document_text().lstrip()[1:]
    separator = "" if rest.lstrip().startswith("}") else ","
    return '{"servers":' + json.dumps(servers, separators=(",", ":")) + separator + rest


@cache
def _document_text() -> str:
    """The built document when the layer carries one, else the one generated from the route table."""
    try:
        return BUILT_DOCUMENT.read_text(encoding="utf-8")
    except FileNotFoundError:
        from workflow_service.http.openapi import openapi_document

        return _without_servers(openapi_document())


def _without_servers(document: dict[str, Any]) -> str:
    # Every answer puts its own servers first; a second "servers" key would make the JSON ambiguous.
    return json.dumps({key: value for key, value in document.items() if key != "servers"}, separators=(",", ":"))


def write_document(package: Path) -> Path:
    """Write the generated document into a copy of the package at ``package`` (the layer build's), where
    that copy's ``published_openapi`` looks for it; returns the file written."""
    from workflow_service.http.openapi import openapi_document

    built = package / BUILT_DOCUMENT.relative_to(Path(__file__).parents[1])
    built.write_text(_without_servers(openapi_document()), encoding="utf-8")
    return built


if __name__ == "__main__":  # python -m workflow_service.http.published_openapi <package copy>
    write_document(Path(sys.argv[1]))
