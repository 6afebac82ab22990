"""Errors that any port may raise, so services can handle them without knowing the adapter."""

from __future__ import annotations


class DuplicateKey(Exception):
    """A write was refused because a record with the same unique key already exists.

    Adapters translate their store's own error (pymongo's DuplicateKeyError, say) into this one, so
    services catch a port error rather than a driver's or a bare ``KeyError``.
    """
