"""On-change actions: run an argv (no shell, with a timeout), signal a process, or call a URL.

Triggers are debounced per resource (a burst of changes runs the hook once) and run on a worker thread,
so a slow hook never delays a renewal.
"""

from __future__ import annotations

import os
import signal
import threading
import time

from .log import log

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true

if TYPE_CHECKING:
    from .config import Hooks

# What an exec hook inherits from the sidekick's environment; nothing else. The sidekick's environment
# may hold VAULT_TOKEN, VAULT_SIDEKICK_PASSWORD or VAULT_SIDEKICK_SECRET_ID, and a hook is the app's code:
# it gets only these, plus the hook's own `env` from the config.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "HOSTNAME")


def hook_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an exec hook: the allow-list above (and LC_*), then the hook's own variables."""
    env = {k: v for k, v in os.environ.items() if k in INHERITED_ENV or k.startswith("LC_")}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(extra or {})
    return env


def guard_credentials() -> bool:
    """Make this process non-dumpable (prctl PR_SET_DUMPABLE 0), as ssh-agent does.

    Signal hooks need the app to run as our uid in a shared PID namespace (without CAP_KILL a process may
    only signal its own uid). Same-uid processes may read each other's /proc/PID/environ, mem, fd/ and
    root/ (our mounts: the login credentials) unless the target is non-dumpable: then the kernel's
    ptrace access check refuses them all without CAP_SYS_PTRACE. True when it took effect."""
    try:
        import ctypes  # lazy: ~0.5 MiB RSS, only with signal hooks

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(4, 0, 0, 0, 0) == 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        return False


def find_pids(name: str, proc: str = "/proc") -> list[int]:
    """PIDs whose comm or argv[0] basename is `name` (needs shareProcessNamespace in a pod)."""
    pids = []
    me = os.getpid()
    for entry in os.listdir(proc):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"{proc}/{entry}/comm", encoding="utf-8", errors="replace") as fh:
                comm = fh.read().strip()
            with open(f"{proc}/{entry}/cmdline", "rb") as fh:
                argv0 = fh.read().split(b"\0", 1)[0].decode("utf-8", "replace")
        except OSError:
            continue
        if name in (comm, os.path.basename(argv0)):
            pids.append(int(entry))
    return pids


def send_signal(hooks: Hooks, resource: str) -> int:
    """Signal the target process(es); returns how many were signalled."""
    sig = getattr(signal, f"SIG{hooks.signal_name}")
    pids: list[int] = []
    if hooks.signal_pidfile:
        try:
            with open(hooks.signal_pidfile, encoding="utf-8") as fh:
                pids = [int(fh.read().split()[0])]
        except (OSError, ValueError, IndexError):
            log.warning("signal hook: cannot read a pid", resource=resource, pidfile=hooks.signal_pidfile)
            return 0
    else:
        pids = find_pids(hooks.signal_process)
        if not pids:
            log.warning("signal hook: no such process", resource=resource, process=hooks.signal_process)
    sent = 0
    for pid in pids:
        try:
            os.kill(pid, sig)
            sent += 1
        except OSError as exc:
            log.warning("signal hook failed", resource=resource, pid=pid, error=exc.strerror)
    if sent:
        log.info("signal sent", resource=resource, signal=hooks.signal_name, pids=",".join(map(str, pids)))
    return sent


def run_exec(argv: list[str], timeout: float, resource: str, env: dict[str, str] | None = None) -> int | None:
    """Run argv without a shell, in a scrubbed environment (hook_env); kill it after `timeout`. Returns the
    exit code (None if it was killed)."""
    import subprocess  # lazy: only for resources with an exec hook

    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True,
                                env=hook_env(env))
    except OSError as exc:
        log.error("exec hook cannot start", resource=resource, command=argv[0], error=exc.strerror)
        return None
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        log.error("exec hook timed out and was killed", resource=resource, command=argv[0], timeout=timeout)
        return None
    level = "info" if code == 0 else "warning"
    log.log(level, "exec hook finished", resource=resource, command=argv[0], exit_code=code)
    return code


def call_url(hooks: Hooks, resource: str) -> int | None:
    from .vault import http_call

    try:
        status = http_call(hooks.http_url, hooks.http_method)
    except (OSError, EOFError, ValueError) as exc:
        log.warning("http hook failed", resource=resource, url=hooks.http_url, error=str(exc))
        return None
    log.log("info" if status < 400 else "warning", "http hook called", resource=resource,
            url=hooks.http_url, status=status)
    return status


def run_hooks(hooks: Hooks, resource: str, files: list[str]) -> None:
    if hooks.exec:
        argv = list(hooks.exec)
        if len(argv) == 1 and files:  # vault-sidekick: a lone command gets the file as its argument
            argv.append(files[0])
        run_exec(argv, hooks.exec_timeout, resource, hooks.env)
    if hooks.signal_name:
        send_signal(hooks, resource)
    if hooks.http_url:
        call_url(hooks, resource)


class HookRunner:
    """Debounces triggers per resource and runs them on one worker thread."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[float, Hooks, list[str]]] = {}
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.runs = 0

    def trigger(self, resource: str, hooks: Hooks, files: list[str]) -> None:
        if not hooks:
            return
        with self._cond:
            self._pending[resource] = (time.monotonic() + hooks.debounce, hooks, files)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="hooks", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop:
                    if self._pending:
                        name = min(self._pending, key=lambda k: self._pending[k][0])
                        wait = self._pending[name][0] - time.monotonic()
                        if wait <= 0:
                            _, hooks, files = self._pending.pop(name)
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                else:
                    return
            try:
                run_hooks(hooks, name, files)
            except Exception as exc:  # a hook must never take the sidekick down
                log.error("hook failed", resource=name, error=exc.__class__.__name__)
            with self._cond:
                self.runs += 1
                self._cond.notify_all()

    def flush(self, timeout: float = 30.0) -> None:
        """Run what is pending now (shutdown, one-shot exit), waiting at most `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._pending = {k: (0.0, h, f) for k, (_, h, f) in self._pending.items()}
            self._cond.notify_all()
            while self._pending and time.monotonic() < deadline:
                self._cond.wait(0.05)
        time.sleep(0)  # let a hook that just started finish below

    def stop(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
