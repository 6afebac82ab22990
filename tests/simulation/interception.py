"""Steps: every store, scheduler, LLM and HTTP call an operation makes passes through ``Interceptor``.

A call made while an *actor* is set (the operation under test, a retry, a reaper pass) is a ``Step``:
it is numbered, recorded in the case's trace, and offered to the hooks (a crash plan, the interleaving
controller, invariant probes) before and after it takes effect. Calls with no actor (set-up and
inspection) pass straight through.

Granularity (issue 10: one step per document a call modifies): ``update_many`` and ``delete_many``
are split into one conditional ``update_one``/``delete_one`` per document that matched when the call
started (each re-checks the call's filter, so a document changed meanwhile by a racing operation is
skipped, as the server would skip it; documents that start matching meanwhile are not picked up, an
approximation that only narrows the race); the store's ordered bulk upsert is one step per statement.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pymongo.errors import DuplicateKeyError

T = TypeVar("T")

_READS = frozenset({"find", "find_one", "count_documents", "distinct", "aggregate", "estimated_document_count"})
_WRITES = frozenset(
    {
        "find_one_and_update",
        "find_one_and_delete",
        "find_one_and_replace",
        "update_one",
        "replace_one",
        "insert_one",
        "delete_one",
    }
)


@dataclass(frozen=True)
class Step:
    """One call of one actor: ``kind`` is store, scheduler, llm or http; ``target`` names the call
    (``workflow_runs.find_one_and_update``, ``scheduler.update``); ``document`` the id its filter names."""

    index: int
    actor: str
    kind: str
    target: str
    writes: bool
    collection: str | None = None
    document: str | None = None


class StepHook(Protocol):
    def before(self, step: Step) -> None: ...

    def after(self, step: Step) -> None: ...


@dataclass
class Interceptor:
    """Numbers, records and hooks the steps of the current thread's actor."""

    trace: list[Step] = field(default_factory=list)
    hooks: list[StepHook] = field(default_factory=list)
    _local: threading.local = field(default_factory=threading.local)

    @property
    def actor(self) -> str | None:
        return getattr(self._local, "actor", None)

    @contextmanager
    def acting_as(self, actor: str | None) -> Iterator[None]:
        previous = self.actor
        self._local.actor = actor
        try:
            yield
        finally:
            self._local.actor = previous

    def steps_of(self, actor: str) -> list[Step]:
        return [step for step in self.trace if step.actor == actor]

    def call(
        self,
        kind: str,
        target: str,
        action: Callable[[], T],
        *,
        writes: bool,
        collection: str | None = None,
        document: str | None = None,
    ) -> T:
        actor = self.actor
        if actor is None:
            return action()
        for hook in list(self.hooks):
            # The index is given when the step runs: hooks (the baton) may hold it back first.
            hook.before(Step(-1, actor, kind, target, writes, collection, document))
        step = Step(len(self.trace), actor, kind, target, writes, collection, document)
        self.trace.append(step)
        try:
            result = action()
        except Exception:
            # A refused call (a duplicate key, an AWS error) still took place: its answer can be lost too.
            for hook in list(self.hooks):
                hook.after(step)
            raise
        for hook in list(self.hooks):
            hook.after(step)
        return result


def _document_id(selector: Any) -> str | None:
    if isinstance(selector, dict) and "_id" in selector and not isinstance(selector["_id"], dict):
        return str(selector["_id"])
    return None


@dataclass
class _ManyResult:
    """What ``update_many``/``delete_many`` answer, summed over the per-document steps."""

    matched_count: int = 0
    modified_count: int = 0
    deleted_count: int = 0
    upserted_id: Any = None
    acknowledged: bool = True

    def add(self, outcome: Any) -> None:
        if outcome is not None:
            self.matched_count += getattr(outcome, "matched_count", 0)
            self.modified_count += getattr(outcome, "modified_count", 0)
            self.deleted_count += getattr(outcome, "deleted_count", 0)


class InterceptedCollection:
    """A ``StoreCollection`` whose calls are steps (see the module docstring for multi-document calls)."""

    def __init__(self, inner: Any, interceptor: Interceptor) -> None:
        self._inner = inner
        self._interceptor = interceptor
        self.name: str = inner.name

    def _step(self, method: str, action: Callable[[], T], *, writes: bool, selector: Any = None) -> T:
        return self._interceptor.call(
            "store",
            f"{self.name}.{method}",
            action,
            writes=writes,
            collection=self.name,
            document=_document_id(selector),
        )

    def update_many(self, selector: dict[str, Any], update: dict[str, Any], **kwargs: Any) -> _ManyResult:
        return self._per_document("update", selector, lambda one: self._inner.update_one(one, update, **kwargs))

    def delete_many(self, selector: dict[str, Any], **kwargs: Any) -> _ManyResult:
        return self._per_document("delete", selector, lambda one: self._inner.delete_one(one, **kwargs))

    def _per_document(self, verb: str, selector: dict[str, Any], apply: Callable[[dict[str, Any]], Any]) -> _ManyResult:
        total = _ManyResult()
        ids: list[Any] = []

        def narrowed(one_id: Any) -> dict[str, Any]:
            return {"$and": [selector, {"_id": one_id}]}

        def first() -> Any:
            # The lookup belongs to the first document's step: a call that matches nothing is still one step.
            ids.extend(document["_id"] for document in self._inner.find(selector, projection={"_id": 1}))
            return apply(narrowed(ids[0])) if ids else None

        total.add(self._step(f"{verb}_many", first, writes=True, selector=selector))
        for one_id in ids[1:]:
            outcome = self._step(
                f"{verb}_many", lambda one_id=one_id: apply(narrowed(one_id)), writes=True, selector={"_id": one_id}
            )
            total.add(outcome)
        return total

    def upsert_each_until_duplicate(self, updates: list[tuple[dict[str, Any], dict[str, Any]]]) -> int:
        for index, (selector, update) in enumerate(updates):
            try:
                self._step(
                    "bulk_upsert",
                    lambda selector=selector, update=update: self._inner.update_one(selector, update, upsert=True),
                    writes=True,
                    selector=selector,
                )
            except DuplicateKeyError:
                return index
        return len(updates)

    def __getattr__(self, method: str) -> Any:
        target = getattr(self._inner, method)
        if method not in _READS and method not in _WRITES:
            return target  # index management and the like: set-up, not steps

        def call(*args: Any, **kwargs: Any) -> Any:
            selector = args[0] if args else kwargs.get("filter")
            return self._step(method, lambda: target(*args, **kwargs), writes=method in _WRITES, selector=selector)

        return call


class InterceptedDatabase:
    """A ``StoreDatabase`` whose collections are ``InterceptedCollection``s; ``plain`` bypasses them."""

    def __init__(self, plain: Any, interceptor: Interceptor) -> None:
        self.plain = plain
        self._interceptor = interceptor
        self._collections: dict[str, InterceptedCollection] = {}

    def __getitem__(self, name: str) -> InterceptedCollection:
        if name not in self._collections:
            self._collections[name] = InterceptedCollection(self.plain[name], self._interceptor)
        return self._collections[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.plain, name)


class InterceptedPort:
    """Any port (scheduler, LLM gateway, HTTP client): each listed method call is one step of ``kind``."""

    def __init__(self, inner: Any, interceptor: Interceptor, kind: str, methods: frozenset[str]) -> None:
        self._inner = inner
        self._interceptor = interceptor
        self._kind = kind
        self._methods = methods
        # Told of every call that went through (e.g. the EventBridge emulation learns pushed definitions).
        self.observers: list[Callable[[str, tuple[Any, ...]], None]] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name not in self._methods:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            def action() -> Any:
                result = target(*args, **kwargs)
                for observer in self.observers:
                    observer(name, args)
                return result

            return self._interceptor.call(self._kind, f"{self._kind}.{name}", action, writes=True)

        return call
