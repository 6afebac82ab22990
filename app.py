#!/usr/bin/env python3
"""CDK entry point: builds the stage's stack from cdk.json context. Makes no AWS or network calls.

    CDK_OUTDIR=cdk.out python app.py                 # synthesize the stage named by context "stage"
    npx aws-cdk@2.1148.1 deploy -c stage=prod ...    # the CLI's -c overrides cdk.json

The domain layer must be built first: ``python scripts/build_layer.py``.
"""

from __future__ import annotations

from infra.application import add_nag_checks, add_service_stack, create_app


def main() -> None:
    app = create_app()
    add_service_stack(app)
    add_nag_checks(app)
    app.synth()


if __name__ == "__main__":
    main()
