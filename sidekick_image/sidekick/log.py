"""JSON lines on stderr that never carry a secret value.

Two guards: fields whose name looks secret are replaced, and every value registered with `redact()`
(tokens, passwords, secret data) is masked wherever it appears in a message or field.
"""

from __future__ import annotations

import json
import sys
import threading
import time

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
_SECRET_KEYS = ("token", "password", "secret", "private_key", "client_token", "accessor", "credential")
_MASK = "[redacted]"


class Logger:
    def __init__(self, stream: Any = None, level: str = "info") -> None:
        self.stream = stream
        self.level = _LEVELS.get(level, 20)
        self._owned: dict[str, set[str]] = {}  # owner (resource name, "token") → its current secret values
        self._secrets: list[str] = []
        self._lock = threading.Lock()

    def set_level(self, level: str) -> None:
        self.level = _LEVELS.get(level, 20)

    def redact(self, owner: str, *values: Any) -> None:
        """Mask these values in every later line. Replaces what `owner` registered before, so rotated
        secrets do not accumulate in memory."""
        found: set[str] = set()
        _collect(values, found)
        with self._lock:
            self._owned[owner] = found
            self._secrets = sorted(set().union(*self._owned.values()), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        secrets = self._secrets
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, _MASK)
        return text

    def _clean(self, key: str, value: Any) -> Any:
        lowered = key.lower()
        if any(word in lowered for word in _SECRET_KEYS) and not lowered.endswith(("_file", "_path", "file")):
            return _MASK
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        return self.scrub(str(value))

    def log(self, level: str, msg: str, **fields: Any) -> None:
        if _LEVELS[level] < self.level:
            return
        record: dict[str, Any] = {
            "ts": _timestamp(),
            "level": level,
            "msg": self.scrub(msg),
        }
        for key, value in fields.items():
            record[key] = self._clean(key, value)
        line = json.dumps(record, separators=(",", ":"), default=str)
        stream = self.stream or sys.stderr
        with self._lock:
            try:
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError):
                pass

    def debug(self, msg: str, **fields: Any) -> None:
        self.log("debug", msg, **fields)

    def info(self, msg: str, **fields: Any) -> None:
        self.log("info", msg, **fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self.log("warning", msg, **fields)

    def error(self, msg: str, **fields: Any) -> None:
        self.log("error", msg, **fields)


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def _collect(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, found)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value)
        if len(text) >= 4:  # masking tiny values ("1", "yes") would garble every line
            found.add(text)
            # a PEM block or multi-line value may be logged line by line
            found.update(part for part in text.splitlines() if len(part) >= 16)


log = Logger()
