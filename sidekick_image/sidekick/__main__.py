"""Entry point: `sidekick [flags]` (exit 0 done, 1 runtime failure, 2 bad configuration)."""

from __future__ import annotations

import signal
import sys

# Needed only to read and check the configuration: dropped once it is loaded, so the memory their code
# objects and tables hold is reused by what the run imports next (see _drop_config_modules).
_CONFIG_ONLY = ("cli", "config_file", "schema_check", "values")


def _drop_config_modules() -> None:
    """Forget the configuration-only modules (issue 16: VmRSS <= 12 MiB). Nothing at run time refers to
    them (config.py imports the checker lazily, inside validate()), so their objects are freed; Python keeps
    the freed pages and the run's own imports and objects fill them instead of growing the heap."""
    import gc

    package = sys.modules[__package__ or "sidekick"]
    for name in _CONFIG_ONLY:
        sys.modules.pop(f"{package.__name__}.{name}", None)
        package.__dict__.pop(name, None)
    gc.collect()


def main(argv: list[str] | None = None) -> int:
    from .cli import build_config
    from .errors import SidekickConfigError
    from .log import log

    try:
        cfg = build_config(sys.argv[1:] if argv is None else argv)
    except SidekickConfigError as exc:
        sys.stderr.write(f"sidekick: configuration error: {exc}\n")
        return 2
    if isinstance(cfg, str):
        sys.stdout.write(cfg)
        return 0
    del build_config
    if argv is None:  # a real process (the image, the console script); in-process callers keep their modules
        _drop_config_modules()
    log.set_level(cfg.log_level)
    if any(res.hooks.signal_name for res in cfg.resources):
        from .hooks import guard_credentials

        log.warning("signal hooks: the app must run as this uid in a shared PID namespace, where it could "
                    "read this process's credentials through /proc; this process is made non-dumpable "
                    "against that, but prefer an http hook and different uids",
                    non_dumpable=guard_credentials())

    from .scheduler import Sidekick

    app = Sidekick(cfg)

    def on_stop(signum: int, _frame: object) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        app.stop_event.set()
        app.refresh_event.set()

    def on_hup(_signum: int, _frame: object) -> None:
        log.info("SIGHUP: refreshing every resource now")
        app.refresh_event.set()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
    server = None
    if cfg.listen and not cfg.one_shot:
        from .server import StatusServer

        server = StatusServer(cfg.listen, app.health, app.ready, app.metrics.render)
        try:
            server.start()
        except OSError as exc:
            sys.stderr.write(f"sidekick: configuration error: cannot listen on {cfg.listen}: "
                             f"{exc.strerror}\n")
            return 2
    try:
        return app.run()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
