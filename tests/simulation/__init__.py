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
"""
