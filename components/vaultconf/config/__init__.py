"""The desired state: YAML with line numbers, overlay merge, JSON Schema, and validate's rules.

result = validate(pathlib.Path("infra/config"), "dev")
for finding in result.findings: print(finding)      # file:line: field.path: message (fix: ...)
result.config                                       # typed model (None if the schema failed)
"""

from .findings import Finding, Loc, Severity, UnusableInput
from .loader import Result, find_config_dir, load_tree, stacks, validate
from .model import Config
from .settings import seed_config_key

__all__ = [
    "Config",
    "Finding",
    "Loc",
    "Result",
    "Severity",
    "UnusableInput",
    "find_config_dir",
    "load_tree",
    "seed_config_key",
    "stacks",
    "validate",
]
