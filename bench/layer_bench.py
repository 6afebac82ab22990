"""The domain layer's size (budget: 30 MB unzipped, bytecode included), measured on ``make build-layer``'s build."""

from __future__ import annotations

from scripts.build_layer import LAYER_BUDGET_BYTES, build_layer, layer_size


def rows() -> list[dict]:
    built = build_layer()  # pip is skipped when the layer is up to date (stamp)
    unzipped, zipped = layer_size()
    return [
        {
            "layer": "domain layer (python/ with runtime deps; boto3/botocore excluded)",
            "unzipped_mb": round(unzipped / 1024 / 1024, 1),
            "zipped_mb": round(zipped / 1024 / 1024, 1),
            "bytecode": "compiled" if built.bytecode_compiler else "none (no runtime Python here)",
            "budget": f"<= {LAYER_BUDGET_BYTES // 1024 // 1024} MB unzipped",
            "ok": unzipped <= LAYER_BUDGET_BYTES,
        }
    ]
