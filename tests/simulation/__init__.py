"""``make simulate``: a deterministic simulation over the real services (issue 10, "Prove it").

Every store, scheduler, LLM and HTTP call of an operation is a *step*. The harness crashes operations
at every step (before it, and after it took effect with the answer lost) and runs pairs of racing
operations under a controller that decides, at every step, which side proceeds, enumerating every
interleaving within a preemption bound. After each case it lets time pass (reaper passes, emulated
EventBridge firings) and checks the invariants of DESIGN.md sections 4-6.

Modules: ``interception`` (steps), ``crashes`` (crash plans), ``interleaving`` (the baton controller
and the enumerator), ``world`` and ``eventbridge`` (one case's services, moto and its emulation),
``scenarios`` and ``pairs`` (the operations and racing pairs), ``invariants``, ``runner`` and
``report``.

EventBridge is moto everywhere (one ``mock_aws()`` per process, the group emptied per case): a case
costs tens of milliseconds with it, so the local InMemoryScheduler is not needed. ``--bounded`` (what
``make test`` runs) skips crashing "after" a read (the same state as crashing before the next call)
and bounds interleavings at 2 preemptions; ``--full`` crashes after reads too and allows 3
preemptions for two-party races. To add a case: an ``Operation`` in ``scenarios`` (a set-up and
the request), or a ``Pair`` in ``pairs``; the invariants apply to every case.
"""
