"""Run one organisation split across stacks (docs/scaling.md): the platform stack first, then every team
stack at once, with the Pulumi Automation API.

    python -m vaultconf.split --platform platform team-billing team-reports          # up
    python -m vaultconf.split --preview --platform platform team-billing team-reports
    python -m vaultconf.split --preview --expect-no-changes --platform platform team-a team-b

Each stack is the same program (the project in `--work-dir`, default the current directory) with its own
`Pulumi.<stack>.yaml` (its `vaultconf:configDir`, and `vaultconf:platformStack` for the teams), its own state
and its own lock, so the team stacks run side by side in a thread pool. A platform failure stops the run
before any team starts (their `external: true` objects are checked against its output).

Every Pulumi command goes through `scripts/pulumi` when the work directory has one (`--pulumi` names
another): the project's one definition of when the engine's per-step checkpoints are skipped
(PULUMI_SKIP_CHECKPOINTS, VAULTCONF_CHECKPOINTS). Backend, passphrase and Vault token come from the
environment, as for the CLI.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import os
import pathlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from pulumi.automation import PulumiCommand

WRAPPER = pathlib.Path("scripts") / "pulumi"


@dataclasses.dataclass
class StackRun:
    """What one stack's preview or up did."""

    stack: str
    ok: bool
    seconds: float
    changes: dict[str, int] = dataclasses.field(default_factory=dict)
    error: str = ""

    def line(self) -> str:
        if not self.ok:
            return f"{self.stack}: FAILED after {self.seconds:.1f}s\n{self.error}"
        shown = ", ".join(f"{op} {n}" for op, n in sorted(self.changes.items())) or "no changes"
        return f"{self.stack}: ok in {self.seconds:.1f}s ({shown})"


def _command(work_dir: pathlib.Path, pulumi: str | None, env: Mapping[str, str]) -> PulumiCommand:
    """The Automation API's handle on the CLI, pointed at the wrapper (its own lookup is `pulumi` on PATH or
    `<root>/bin/pulumi`); the version it checks is the wrapped binary's."""
    from pulumi.automation import PulumiCommand
    from semver import VersionInfo

    wrapper = work_dir / WRAPPER
    command = pulumi or (str(wrapper) if wrapper.is_file() else "pulumi")

    class Wrapped(PulumiCommand):
        def __init__(self) -> None:  # not super().__init__: it would run `pulumi` from PATH
            self.command = command
            text = subprocess.run([command, "version"], env={**os.environ, **env}, capture_output=True,
                                  text=True, check=True).stdout.strip()
            self.version = VersionInfo.parse(text.removeprefix("v"))

    return Wrapped()


def _changes(summary: Mapping[str, object] | None) -> dict[str, int]:
    return {op: int(str(n)) for op, n in (summary or {}).items() if op != "same" and int(str(n))}


def select(
    work_dir: pathlib.Path, stack: str, env: Mapping[str, str] | None = None, pulumi: str | None = None
) -> Any:
    """The existing stack `stack` of the project in `work_dir` (an automation `Stack`). Selecting runs
    `pulumi stack select`, which writes the workspace's current stack: done one at a time, never in the pool
    (every command after it names its stack)."""
    from pulumi import automation as auto

    workspace = auto.LocalWorkspace(
        work_dir=str(work_dir), env_vars=dict(env or {}), pulumi_command=_command(work_dir, pulumi, env or {})
    )
    return auto.Stack.select(stack, workspace)


def run_stack(
    target: Any, *, preview: bool = False, expect_no_changes: bool = False,
    on_output: Callable[[str], None] | None = None,
) -> StackRun:
    """`up` (or `preview`) of one selected stack."""
    from pulumi import automation as auto

    started = time.monotonic()
    try:
        if preview:
            result = target.preview(expect_no_changes=expect_no_changes, color="never", on_output=on_output)
            changes = _changes(result.change_summary)
        else:
            up = target.up(expect_no_changes=expect_no_changes, color="never", on_output=on_output)
            changes = _changes(up.summary.resource_changes)
    except auto.errors.CommandError as exc:
        tail = "\n".join(str(exc).strip().splitlines()[-25:])
        return StackRun(target.name, False, time.monotonic() - started, error=tail)
    except Exception as exc:  # one stack's surprise must not hide the others' results
        return StackRun(target.name, False, time.monotonic() - started, error=f"{type(exc).__name__}: {exc}")
    return StackRun(target.name, True, time.monotonic() - started, changes)


def run(
    work_dir: pathlib.Path,
    platform: str | None,
    teams: Sequence[str],
    *,
    preview: bool = False,
    expect_no_changes: bool = False,
    env: Mapping[str, str] | None = None,
    pulumi: str | None = None,
    workers: int | None = None,
    report: Callable[[StackRun], None] | None = None,
) -> list[StackRun]:
    """The platform stack (if any), then the team stacks concurrently; one StackRun per stack that ran."""
    from pulumi import automation as auto

    done: list[StackRun] = []
    selected: dict[str, Any] = {}
    for name in [*([platform] if platform else []), *teams]:
        try:
            selected[name] = select(work_dir, name, env, pulumi)
        except auto.errors.CommandError as exc:
            done.append(StackRun(name, False, 0.0, error=str(exc).strip().splitlines()[-1]))
    if done:
        return done

    def one(name: str) -> StackRun:
        got = run_stack(selected[name], preview=preview, expect_no_changes=expect_no_changes)
        if report is not None:
            report(got)
        return got

    if platform:
        done.append(one(platform))
        if not done[0].ok:
            return done
    if teams:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers or len(teams)) as pool:
            done.extend(pool.map(one, teams))
    return done


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of stacks, 1 or more (got {text!r})")
    return value


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m vaultconf.split", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("teams", nargs="*", metavar="TEAM_STACK", help="team stacks, run concurrently")
    parser.add_argument("--platform", metavar="STACK", help="the platform stack, run first")
    parser.add_argument("--preview", action="store_true", help="preview instead of up")
    parser.add_argument("--expect-no-changes", action="store_true", help="fail a stack that would change")
    parser.add_argument("--work-dir", type=pathlib.Path, default=pathlib.Path.cwd(),
                        help="the Pulumi project (default: the current directory)")
    parser.add_argument("--pulumi", help="the pulumi command (default: <work dir>/scripts/pulumi, else PATH)")
    parser.add_argument("--workers", type=_positive, help="team stacks at once (default: all)")
    args = parser.parse_args(argv)
    if not args.platform and not args.teams:
        parser.error("name the platform stack, team stacks, or both")
    named = [*([args.platform] if args.platform else []), *args.teams]
    twice = sorted({n for n in named if named.count(n) > 1})
    if twice:  # one stack run twice at once would fight over its own lock
        parser.error(f"each stack once: {', '.join(twice)} named more than once")
    lock = threading.Lock()

    def report(got: StackRun) -> None:
        with lock:
            print(got.line(), file=out, flush=True)

    started = time.monotonic()
    runs = run(args.work_dir.resolve(), args.platform, args.teams, preview=args.preview,
               expect_no_changes=args.expect_no_changes, pulumi=args.pulumi,
               workers=args.workers, report=report)
    failed = [r.stack for r in runs if not r.ok]
    skipped = [t for t in args.teams if t not in {r.stack for r in runs}]
    print(f"split: {len(runs) - len(failed)} stack(s) ok, {len(failed)} failed"
          + (f" ({', '.join(failed)})" if failed else "")
          + (f", not run after the platform failed: {', '.join(skipped)}" if skipped else "")
          + f", {time.monotonic() - started:.1f}s", file=out)
    return 1 if failed or skipped else 0


if __name__ == "__main__":
    raise SystemExit(main())
