"""Parsing of Go-style scalar values (durations, booleans, file modes) used by the CLI and the file."""

from __future__ import annotations

import re

from .errors import SidekickConfigError

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")


def parse_duration(value: object, field: str) -> float:
    """Seconds from a Go duration ("1h20m5s", "500ms", "2d") or a plain number of seconds."""
    if isinstance(value, bool):
        raise SidekickConfigError(f"{field}: expected a duration like 30s, 5m or 1h, got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise SidekickConfigError(f"{field}: a duration cannot be negative, got {value!r}")
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise SidekickConfigError(f"{field}: {text!r} is not a duration (use e.g. 30s, 5m, 1h30m, 2d)")
    return total


_TRUE = {"1", "t", "true", "yes", "y", "on"}
_FALSE = {"0", "f", "false", "no", "n", "off"}


def parse_bool(value: object, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SidekickConfigError(f"{field}: {value!r} is not a boolean (use true or false)")


def parse_mode(value: object, field: str) -> int:
    """A file mode: "0600", "600", "0o600" or an int (YAML may hand us 0600 as 384 or as 600)."""
    if isinstance(value, bool):
        raise SidekickConfigError(f"{field}: {value!r} is not a file mode (use e.g. \"0600\")")
    if isinstance(value, int):
        # JSON 600 means "0600"; YAML 1.1 reads unquoted 0600 as the number 384, which is the mode itself.
        digits = str(value)
        text = digits if re.fullmatch(r"[0-7]{3}", digits) else oct(value)[2:]
    else:
        text = str(value).strip().lower().removeprefix("0o")
    if not re.fullmatch(r"0?[0-7]{3}", text):
        raise SidekickConfigError(f"{field}: {value!r} is not an octal file mode "
                                  "(use e.g. \"0600\" or \"0640\")")
    mode = int(text, 8)
    if mode & 0o002:
        raise SidekickConfigError(f"{field}: mode {oct(mode)} makes secrets world-writable; "
                                  "use e.g. \"0600\"")
    return mode


def parse_int(value: object, field: str, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise SidekickConfigError(f"{field}: expected an integer, got {value!r}")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise SidekickConfigError(f"{field}: expected an integer, got {value!r}") from None
    if number < minimum:
        raise SidekickConfigError(f"{field}: must be >= {minimum}, got {number}")
    return number


def parse_float(value: object, field: str, lo: float, hi: float) -> float:
    if isinstance(value, bool):
        raise SidekickConfigError(f"{field}: expected a number, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SidekickConfigError(f"{field}: expected a number between {lo} and {hi}, "
                                  f"got {value!r}") from None
    if not lo <= number <= hi:
        raise SidekickConfigError(f"{field}: must be between {lo} and {hi}, got {number}")
    return number
