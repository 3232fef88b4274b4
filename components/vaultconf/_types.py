"""`Input[T]`: what `pulumi.Input[T]` means, spelled without its string forward reference.

pulumi defines `Input = Union[T, Awaitable[T], "Output[T]"]`; the string is evaluated in the namespace of the
module that *uses* the alias, so `typing.get_type_hints` fails on every Args TypedDict annotated with
`pulumi.Input[...]` (NameError: Output, then T). Annotating with this alias keeps the same meaning for type
checkers and makes the hints resolvable at runtime (documentation tools, pydantic, typeguard).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar, Union

import pulumi

T = TypeVar("T")
Input = Union[T, Awaitable[T], pulumi.Output[T]]  # noqa: UP007 (a generic alias needs typing.Union)

__all__ = ["Input"]
