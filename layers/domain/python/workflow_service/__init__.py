"""Workflow execution service: the shared domain package of every Lambda."""
