"""Let a large program finish in linear time: wait for every pending Output once, before the SDK's drain loop.

Why this exists (Pulumi Python SDK 3.272, `pulumi/runtime/stack.py`, `wait_for_rpcs`): when the program's
top-level code returns, the SDK first awaits the RPCs it has recorded, then drains `SETTINGS.outputs` (every
`Output` not yet resolved) with `asyncio.wait(pending, return_when=FIRST_COMPLETED)` in a loop. Each turn
adds a done-callback to every pending output and removes it again, and a turn ends whenever any one output
resolves. A registration only becomes an RPC once its inputs are known, so when a program of N resources
returns, almost nothing is recorded yet: the SDK goes straight to the drain loop with ~10 outputs per
resource pending, and every engine step that resolves a few of them costs a pass over all of them. The
work is O(pending * resolutions): quadratic. Measured on the benchmark's 0.1 config (768 resources, real
engine): 358 turns over 1.45 M pending-output callbacks in the first `up`; at 0.3, `add_done_callback` alone
was 15 s of the program's 42 s CPU (cProfile). The loop came with pulumi/pulumi#22411 (which replaced an
`asyncio.sleep(0)` busy-wait); docs/scaling.md has the figures.

`settle()` waits for the same set, the same way the SDK would end up waiting (all of it, failures
included), but with one `asyncio.wait(ALL_COMPLETED)` per wave: one callback per output. Outputs created
while a wave runs (an `apply` that registers a resource) are picked up by the next wave. When it returns,
the SDK's own loop finds everything resolved and runs once. Nothing is hidden: a failed output stays in the
set, done, and the SDK awaits it and raises as before.

`install()` registers `settle` as the program's async entrypoint (`pulumi.run`, public since 3.272: it is
awaited after the top-level code and before `wait_for_rpcs`). A program that has its own `pulumi.run`
entrypoint awaits `settle()` at its end instead. Never await it inside an `apply` (or wrap it in an Output):
it would wait for the output that waits for it.

It reads `pulumi.runtime.settings.SETTINGS.outputs`, which the SDK does not document;
tests/stack/test_settle.py fails if a new SDK drops it, and without it `settle()` returns at once (the
SDK's behaviour, only slower).
"""

from __future__ import annotations

import asyncio

import pulumi
from pulumi.runtime import settings


def _pending() -> list[asyncio.Future[object]]:
    tracked = getattr(settings.SETTINGS, "outputs", None)
    lock = getattr(settings.SETTINGS, "lock", None)
    if tracked is None or lock is None:
        return []
    with lock:
        return [task for task in tracked if not task.done()]


async def settle() -> None:
    """Return once every Output the program created so far (and any created meanwhile) has resolved."""
    while True:
        pending = _pending()
        if not pending:
            return
        await asyncio.wait(pending)


def install() -> bool:
    """Make `settle` the program's async entrypoint (call once, from the program's top level).

    False when the SDK refuses: the program already has an entrypoint (await `settle()` in it), or it runs
    under `pulumi.runtime.set_mocks`, whose root stack is closed from the start and never awaits one.
    """
    try:
        pulumi.run(settle)
    except pulumi.RunError:
        return False
    return True


__all__ = ["install", "settle"]
