"""Workflow execution service: the shared domain package of every Lambda."""

import zoneinfo

# Zones resolve from the pinned ``tzdata`` package only (pyproject.toml), never from the host's
# /usr/share/zoneinfo: Lambda, CI and laptops then agree on every DST transition.
zoneinfo.reset_tzpath(to=())
