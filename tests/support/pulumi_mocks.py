"""The recording Pulumi mocks now live in the library, public, as `vaultconf.testing` (one copy); this name
stays for imports that predate the move (benchmarks, helpers written elsewhere)."""

from vaultconf.testing import (
    STACK_TYPE,
    MockRun,
    OutputsFn,
    Recorded,
    RecordingMocks,
    RecordingMonitor,
    default_outputs,
    run_under_mocks,
)

__all__ = [
    "STACK_TYPE",
    "MockRun",
    "OutputsFn",
    "Recorded",
    "RecordingMocks",
    "RecordingMonitor",
    "default_outputs",
    "run_under_mocks",
]
