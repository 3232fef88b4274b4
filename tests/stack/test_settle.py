"""vaultconf.settle: the program waits for its outputs in waves; the SDK's drain loop has nothing left.

The quadratic cost it removes shows on the real engine (benchmarks/engine.py, docs/scaling.md); here, under
the recording mocks, the same SDK code (`pulumi.runtime.stack.wait_for_rpcs`) runs, so the tests count its
turns and check that nothing changes in what is registered or in how a failure surfaces.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings
from pulumi.runtime import stack as sdk_stack
from vaultconf import settle as settle_module
from vaultconf.settle import install, settle
from vaultconf.testing import run_under_mocks


class _CountingAsyncio:
    """`asyncio` as pulumi.runtime.stack sees it, counting the drain loop's `wait` calls and their sizes."""

    def __init__(self) -> None:
        self.turns: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def wait(self, fs: Any, **kwargs: Any) -> Any:
        self.turns.append(len(fs))
        return await asyncio.wait(fs, **kwargs)


def _program(count: int, results: list[int]) -> Any:
    """COUNT resources in a chain of applies (each registers the next from the previous one's output), and a
    fan of plain outputs; the program returns nothing, as a stack's top level does, so the work is left to
    the SDK's drain loop (or to settle())."""

    def program() -> None:
        first = pulumi.CustomResource("test:index:Thing", "thing-0", {"value": "0"})
        current: Any = first.urn

        def register(i: int) -> Any:
            def make(_: Any) -> Any:
                res = pulumi.CustomResource("test:index:Thing", f"thing-{i}", {"value": str(i)})
                return res.urn
            return make

        for i in range(1, count):
            current = current.apply(register(i))
        # what every resource's output properties add: many outputs pending at once
        fan = [pulumi.Output.from_input(first.urn).apply(lambda u, j=j: f"{u}/{j}") for j in range(count * 5)]
        pulumi.Output.all(current, *fan).apply(lambda values: results.append(len(values)))

    return program


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> _CountingAsyncio:
    fake = _CountingAsyncio()
    monkeypatch.setattr(sdk_stack, "asyncio", fake)
    return fake


def test_sdk_still_tracks_outputs_where_settle_reads_them() -> None:
    # if a new SDK moves this, settle() silently does nothing: fail here instead
    assert isinstance(settings.SETTINGS.outputs, set)
    assert hasattr(settings.SETTINGS.lock, "__enter__")
    assert callable(pulumi.run)
    tracked: list[bool] = []

    def program() -> None:
        out = pulumi.Output.from_input("x").apply(str.upper)
        tracked.append(out._data in settings.SETTINGS.outputs)  # type: ignore[attr-defined]

    run_under_mocks(program)
    assert tracked == [True]


@pytest.mark.parametrize("count", [40])
def test_settle_registers_the_same_and_leaves_the_drain_loop_nothing(counting: _CountingAsyncio,
                                                                       count: int) -> None:
    plain_results: list[int] = []
    plain = run_under_mocks(_program(count, plain_results))
    plain_turns = list(counting.turns)
    counting.turns.clear()
    settled_results: list[int] = []
    settled = run_under_mocks(_program(count, settled_results), settle=True)

    assert [r.name for r in settled.resources] == [r.name for r in plain.resources]
    assert len(settled.resources) == count
    assert settled_results == plain_results == [1 + count * 5]
    # without settle the SDK's loop takes a turn per link of the chain, each over everything pending
    assert len(plain_turns) >= count // 2
    # with it, the loop has nothing left
    assert counting.turns == []
    assert not [t for t in settings.SETTINGS.outputs if not t.done()]


def test_settle_waves_pick_up_outputs_created_while_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    waves: list[int] = []
    real_wait = asyncio.wait

    async def wait(fs: Any, **kwargs: Any) -> Any:
        waves.append(len(fs))
        return await real_wait(fs, **kwargs)

    monkeypatch.setattr(settle_module.asyncio, "wait", wait)
    results: list[int] = []
    run = run_under_mocks(_program(30, results), settle=True)
    assert len(run.resources) == 30 and results == [151]
    # at most one wave per link of the apply chain, each output waited on once per wave it is pending in
    assert 1 <= len(waves) <= 31
    assert sum(waves) < 30 * 200


def test_a_failed_output_still_fails_the_program() -> None:
    def program() -> Any:
        pulumi.CustomResource("test:index:Thing", "ok", {"value": "1"})

        def boom(_: Any) -> str:
            raise ValueError("the apply failed")

        pulumi.Output.from_input("x").apply(boom)

    with pytest.raises(ValueError, match="the apply failed"):
        run_under_mocks(program, settle=True)


def test_without_the_sdk_set_settle_returns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    class Bare:
        pass

    monkeypatch.setattr(settle_module.settings, "SETTINGS", Bare())
    loop = asyncio.new_event_loop()  # not asyncio.run: it would leave the thread without a current loop
    try:
        loop.run_until_complete(asyncio.wait_for(settle(), timeout=5))
    finally:
        loop.close()


def test_install_is_a_no_op_under_mocks_and_the_program_still_runs() -> None:
    # the mocks' root stack is closed to async entrypoints: install() must say so, not raise
    seen: list[bool] = []

    def program() -> None:
        seen.append(install())
        pulumi.CustomResource("test:index:Thing", "t", {"value": "1"})

    run = run_under_mocks(program)
    assert seen == [False]
    assert [r.name for r in run.resources] == ["t"]
