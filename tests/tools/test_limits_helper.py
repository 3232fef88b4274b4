"""tests/support/limits.run_bounded measures the command's own peak memory, whatever the test process holds.

Before: wait4's ru_maxrss of the child carried the pytest process's high-water mark (Linux copies the pre-exec
memory's peak into the child at exec), so the alias-bomb tests of both CLIs reported 293 MiB for a 20 MiB
refusal once earlier tests had grown the session, and failed their 200 MiB bound in a full run.
"""

from __future__ import annotations

import sys

from tests.support.limits import run_bounded

MIB = 1024 * 1024


def test_a_large_test_process_does_not_count_as_the_commands_memory() -> None:
    ballast = bytearray(300 * MIB)
    for i in range(0, len(ballast), 4096):  # touch every page: resident, not just reserved
        ballast[i] = 1
    run = run_bounded(["true"])
    assert run.returncode == 0
    assert run.max_rss_mb < 50, run.max_rss_mb
    del ballast


def test_the_commands_own_peak_is_measured() -> None:
    grow = "x = bytearray(120 * 2**20)\nfor i in range(0, len(x), 4096): x[i] = 1\n"
    run = run_bounded([sys.executable, "-c", grow])
    assert run.returncode == 0, run.stderr
    assert 120 <= run.max_rss_mb < 200, run.max_rss_mb


def test_exit_codes_signals_and_the_deadline_pass_through() -> None:
    assert run_bounded(["sh", "-c", "exit 3"]).returncode == 3
    assert run_bounded(["sh", "-c", "kill -TERM $$"]).returncode == -15
    late = run_bounded(["sleep", "30"], timeout=0.5)
    assert late.returncode == -9 and late.seconds < 5
    # over the address-space limit the command fails instead of growing
    assert run_bounded([sys.executable, "-c", "bytearray(2 * 10**9)"], memory=500_000_000).returncode != 0
