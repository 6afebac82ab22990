"""Workflow execution service: the shared domain package of every Lambda."""

import gc
import os
import zoneinfo

# Zones resolve from the pinned ``tzdata`` package only (pyproject.toml), never from the host's
# /usr/share/zoneinfo: Lambda, CI and laptops then agree on every DST transition.
zoneinfo.reset_tzpath(to=())

# In a Lambda execution environment the cyclic garbage collector is paused from here, before a
# handler imports anything else, until its first invocation begins (``end_cold_start_pause``, called
# by ``observability.invocation``). What an import creates lives as long as the container, yet every
# full collection during the import walks all of it again: one such pass cost 17 to 33 ms of an engine
# handler's cold start. Frozen at the end, those objects are never walked again. Lambda sets
# AWS_LAMBDA_FUNCTION_NAME in every execution environment; it is read here, not through
# ``settings``, because settings imports pydantic, which is part of what the pause is for.
_paused_for_cold_start = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and gc.isenabled()
if _paused_for_cold_start:
    gc.disable()


def end_cold_start_pause() -> None:
    """Freeze what the imports created and resume the collector, if this package paused it (once)."""
    global _paused_for_cold_start
    if _paused_for_cold_start:
        _paused_for_cold_start = False
        gc.freeze()
        gc.enable()
