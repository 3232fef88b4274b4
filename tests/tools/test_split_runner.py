"""`python -m vaultconf.split` (docs/scaling.md): the platform stack first, then the team stacks at once,
every command through the given pulumi command; a platform failure stops the run before any team starts.
Driven here with a stand-in CLI that logs its arguments; tests/e2e/test_split_stack.py runs it on the real
engine."""

from __future__ import annotations

import io
import json
import pathlib

import pytest
from vaultconf import split

# A stand-in for the pulumi CLI: logs each call; fails `stack select` of "missing" and up/preview of BROKEN;
# answers the Automation API's follow-up reads (outputs, the last update's summary).
FAKE = """\
#!/bin/sh
echo "$*" >> "{log}"
case " $* " in
  *" version "*) echo v3.272.0 ;;
  *" stack select"*"--stack missing "*) echo "error: no stack named 'missing'" >&2; exit 255 ;;
  *" up "*"--stack {broken} "*) echo "error: {broken} broke" >&2; exit 1 ;;
  *" preview "*"--stack {broken} "*) echo "error: {broken} broke" >&2; exit 1 ;;
  *" stack output "*) echo "{{}}" ;;
  *" stack history "*) cat "{history}" ;;
esac
exit 0
"""
HISTORY = [{"kind": "update", "startTime": "2026-01-01T00:00:00.000Z", "message": "", "environment": {},
            "config": {}, "result": "succeeded", "endTime": "2026-01-01T00:00:01.000Z", "version": 1,
            "resourceChanges": {"create": 2, "same": 1}}]


def _fake(tmp_path: pathlib.Path, broken: str = "none") -> tuple[str, pathlib.Path]:
    log, history = tmp_path / "calls.log", tmp_path / "history.json"
    history.write_text(json.dumps(HISTORY))
    cli = tmp_path / "pulumi"
    cli.write_text(FAKE.format(log=log, broken=broken, history=history))
    cli.chmod(0o755)
    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: python\n")
    return str(cli), log


def _ops(log: pathlib.Path) -> list[str]:
    """`up`/`preview` calls in order, as '<op> <stack>'."""
    out = []
    for line in log.read_text().splitlines():
        words = line.split()
        if len(words) > 1 and words[1] in ("up", "preview"):
            out.append(f"{words[1]} {words[words.index('--stack') + 1]}")
    return out


def test_platform_first_then_every_team(tmp_path: pathlib.Path) -> None:
    cli, log = _fake(tmp_path)
    out = io.StringIO()
    code = split.main(["--work-dir", str(tmp_path), "--pulumi", cli, "--platform", "platform", "a", "b"], out)
    assert code == 0, out.getvalue()
    ops = _ops(log)
    assert ops[0] == "up platform" and sorted(ops[1:]) == ["up a", "up b"]
    assert "platform: ok in" in out.getvalue() and "(create 2)" in out.getvalue()
    assert "split: 3 stack(s) ok, 0 failed" in out.getvalue()


def test_a_failed_platform_stops_the_teams(tmp_path: pathlib.Path) -> None:
    cli, log = _fake(tmp_path, broken="platform")
    out = io.StringIO()
    code = split.main(["--work-dir", str(tmp_path), "--pulumi", cli, "--preview", "--platform", "platform",
                       "a", "b"], out)
    assert code == 1
    assert _ops(log) == ["preview platform"]
    text = out.getvalue()
    assert "platform: FAILED" in text and "error: platform broke" in text
    assert "not run after the platform failed: a, b" in text


def test_a_team_failure_leaves_the_other_teams_running(tmp_path: pathlib.Path) -> None:
    cli, log = _fake(tmp_path, broken="a")
    runs = split.run(tmp_path, None, ["a", "b"], pulumi=cli)
    assert {r.stack: r.ok for r in runs} == {"a": False, "b": True}
    assert sorted(_ops(log)) == ["up a", "up b"]


def test_an_unknown_stack_fails_before_anything_runs(tmp_path: pathlib.Path) -> None:
    cli, log = _fake(tmp_path)
    runs = split.run(tmp_path, "platform", ["missing"], pulumi=cli)
    assert [(r.stack, r.ok) for r in runs] == [("missing", False)] and "no stack named" in runs[0].error
    assert _ops(log) == []


@pytest.mark.parametrize("argv, message", [
    (["--workers", "0", "a"], "1 or more"),
    (["--workers", "-3", "a"], "1 or more"),
    (["--workers", "many", "a"], "1 or more"),
    (["--platform", "p", "a", "a"], "a named more than once"),
    (["--platform", "p", "p"], "p named more than once"),
])
def test_bad_flags_are_refused_before_any_stack_runs(tmp_path: pathlib.Path, argv: list[str], message: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        split.main(["--work-dir", str(tmp_path), "--pulumi", str(tmp_path / "no-such-pulumi"), *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
