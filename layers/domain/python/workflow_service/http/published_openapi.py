"""The OpenAPI document ``GET /workflows/v1/openapi.json`` serves.

Generating it builds the JSON Schema of every model the route table names: several hundred
milliseconds of CPU, which a cold ``get_openapi`` would spend on its first request (DESIGN.md section
10). So the layer build writes the document beside this module (``scripts/build_layer.py``) and the
deployed handler only parses it. Where no document was built (the source tree: the local runtime and
the tests), it is generated on first use, so it always matches the code it describes. The file is a
build output, never committed (.gitignore), so a stale copy cannot be served from the source tree.
"""

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

BUILT_DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def published_openapi() -> dict[str, Any]:
    """The built document when the layer carries one, else the one generated from the route table."""
    try:
        return json.loads(BUILT_DOCUMENT.read_bytes())
    except FileNotFoundError:
        from workflow_service.http.openapi import openapi_document

        return openapi_document()


def write_document(package: Path) -> Path:
    """Write the generated document into a copy of the package at ``package`` (the layer build's), where
    that copy's ``published_openapi`` looks for it; returns the file written."""
    from workflow_service.http.openapi import openapi_document

    built = package / BUILT_DOCUMENT.relative_to(Path(__file__).parents[1])
    built.write_text(json.dumps(openapi_document(), separators=(",", ":")))
    return built


if __name__ == "__main__":  # python -m workflow_service.http.published_openapi <package copy>
    write_document(Path(sys.argv[1]))
