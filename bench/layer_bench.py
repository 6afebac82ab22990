"""The domain layer's size (budget: 20 MB unzipped), measured on the build ``make build-layer`` makes."""

from __future__ import annotations

from scripts.build_layer import build_layer, layer_size

BUDGET_UNZIPPED_BYTES = 20 * 1024 * 1024


def rows() -> list[dict]:
    build_layer()  # a no-op when the layer is up to date (stamp)
    unzipped, zipped = layer_size()
    return [
        {
            "layer": "domain layer (python/ with runtime deps; boto3/botocore excluded)",
            "unzipped_mb": round(unzipped / 1024 / 1024, 1),
            "zipped_mb": round(zipped / 1024 / 1024, 1),
            "budget": "<= 20 MB unzipped",
            "ok": unzipped <= BUDGET_UNZIPPED_BYTES,
        }
    ]
