"""CDK infrastructure for the workflow service.

Importing this package must stay cheap and free of ``aws_cdk``: ``infra.config`` and
``infra.route_table`` are plain Python so the layer build and benchmarks can reuse them without
starting jsii. Only ``infra.stack`` and ``infra.constructs`` import the CDK.
"""
