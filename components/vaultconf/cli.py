"""`vaultconf`: validate | diff | convert | unmanaged | import.

Exit codes: 0 clean, 1 findings (or changes refused; `diff --exit-code`: the stacks differ), 2 unusable input
or bad usage, 130 interrupted. Every failure is one line on stderr (with `--format json`: one JSON document on
stdout), never a traceback. Vault is found as the Vault CLI finds it (VAULT_ADDR, VAULT_CACERT,
VAULT_SKIP_VERIFY; flags win); the token comes from $VAULT_TOKEN only (argv is visible to every local user).
Colour only on a terminal, and never with NO_COLOR set.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from vaultconf.cli_support import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNUSABLE,
    Style,
    UsageError,
    error_document,
    vault_target,
    version,
    wants_json,
    write_json,
)
from vaultconf.config import Result, UnusableInput, find_config_dir, load_tree, stacks, validate
from vaultconf.config.findings import Finding, Loc


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so `--format json` covers bad usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, f"see `{self.prog} --help` for what to write")


def _config_dir(args: argparse.Namespace) -> pathlib.Path:
    return pathlib.Path(args.config_dir) if args.config_dir else find_config_dir()


def _add_config_args(p: argparse.ArgumentParser, stack: bool = True) -> None:
    p.add_argument(
        "--config-dir",
        metavar="DIR",
        help="directory holding base/ and the stack overlays "
        "(default: $VAULTCONF_CONFIG_DIR or the nearest infra/config)",
    )
    if stack:
        p.add_argument(
            "--stack", metavar="NAME", help="stack overlay to merge on base (default: every overlay)"
        )


# --- validate ----------------------------------------------------------------------------------------------


def _check_settings(args: argparse.Namespace, config_dir: pathlib.Path, result: Result) -> None:
    """Add a finding per setting or secret missing from Pulumi.<stack>.yaml (vaultconf.config.settings)."""
    from vaultconf.config import settings

    if result.config is None:
        return
    if args.settings_file:
        path = pathlib.Path(args.settings_file)
    else:
        project = settings.find_project_dir(config_dir) or pathlib.Path.cwd()
        path = settings.stack_file(project, args.stack)
    result.findings.extend(settings.check_stack_file(result.config, path, args.stack))


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    config_dir = _config_dir(args)
    if args.check_settings and not args.stack:
        raise UsageError("--check-settings needs --stack", "add --stack NAME (e.g. --stack dev)")
    if args.settings_file and not args.stack:
        fix = "add --stack NAME: the file holds one stack's settings"
        raise UsageError("--settings-file needs --stack", fix)
    settings_file = pathlib.Path(args.settings_file) if args.settings_file else None
    names: list[str | None] = [args.stack] if args.stack else list(stacks(config_dir)) or [None]
    results: list[Result] = [validate(config_dir, name, settings_file) for name in names]
    if args.check_settings:
        _check_settings(args, config_dir, results[0])
    n_err = sum(len(r.errors) for r in results)
    n_warn = sum(len(r.warnings) for r in results)
    if args.format == "json":
        doc = {
            "ok": n_err == 0 and not (args.strict and n_warn),
            "errors": n_err,
            "warnings": n_warn,
            "stacks": [
                {"stack": r.stack, "files": r.files, "findings": [f.as_dict() for f in r.findings]}
                for r in results
            ],
        }
        write_json(out, doc)
    else:
        style = Style(out, args.color)
        printed: set[str] = set()
        for r in results:
            for f in r.findings:
                line = str(f)
                if line not in printed:  # base problems show once, not once per stack
                    printed.add(line)
                    out.write(style.finding(f) + "\n")
        label = ", ".join(r.stack or "base" for r in results)
        summary = f"vaultconf validate [{label}]: {n_err} error(s), {n_warn} warning(s)"
        out.write(style.paint(summary, "bold") + "\n")
    return EXIT_FINDINGS if n_err or (args.strict and n_warn) else EXIT_OK


# --- diff --------------------------------------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    from vaultconf.config.diff import diff

    config_dir = _config_dir(args)
    trees = []
    for stack in (args.source, args.target):
        result = validate(config_dir, stack)
        if result.errors:
            fix = f"run `vaultconf validate --stack {stack}` and fix what it lists, then diff again"
            raise UsageError(f"stack '{stack}' does not validate", fix, result.errors)
        trees.append(load_tree(config_dir, stack)[0])
    changes = diff(trees[0], trees[1])
    if args.format == "json":
        doc = {"from": args.source, "to": args.target, "changes": [c.as_dict() for c in changes]}
        write_json(out, doc)
    else:
        style = Style(out, args.color)
        out.write(f"{args.source} -> {args.target}: {len(changes)} object(s) differ\n")
        for change in changes:
            out.write("".join(style.diff_line(line) + "\n" for line in change.lines()))
    # like `git diff --exit-code`: 1 when the stacks differ
    return EXIT_FINDINGS if args.exit_code and changes else EXIT_OK


# --- convert -----------------------------------------------------------------------------------------------


def cmd_convert(args: argparse.Namespace, out: TextIO) -> int:
    from vaultconf.config.convert import convert

    result = convert(pathlib.Path(args.source))
    target = pathlib.Path(args.output) if args.output else None
    text = result.yaml()
    if args.format == "json":
        if target is not None and target.exists() and not args.force:
            raise UsageError(f"{target} exists", "add --force to overwrite it, or pick another -o FILE")
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        write_json(out, {"ok": True, "output": str(target) if target else None,
                         "yaml": None if target else text, "notes": list(result.notes),
                         "secret_commands": list(result.secret_commands)})
        return EXIT_OK
    if target is None:
        out.write(text)
    else:
        if target.exists() and not args.force:
            raise UsageError(f"{target} exists", "add --force to overwrite it, or pick another -o FILE")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        sys.stderr.write(f"wrote {target}\n")
    for note in result.notes:
        sys.stderr.write(f"note: {note}\n")
    if result.secret_commands:
        sys.stderr.write("set the secret values (never stored in YAML) in each stack with:\n")
        for command in result.secret_commands:
            sys.stderr.write(f"  {command}\n")
    return EXIT_OK


# --- unmanaged / import ------------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> Any:
    from vaultconf.config.vault_http import VaultClient

    target = vault_target(args.vault_addr, args.ca_cert, args.tls_skip_verify)
    return VaultClient.from_env(target.addr, ca_cert=target.ca_cert, skip_verify=target.skip_verify)


def cmd_unmanaged(args: argparse.Namespace, out: TextIO) -> int:
    from vaultconf.config.live import find_unmanaged, purge

    if args.purge and not args.stack:
        raise UsageError(
            "--purge needs --stack: base alone lacks the stack's own objects, which would be deleted",
            "add --stack NAME (the stack whose objects must be kept)",
        )
    config_dir = _config_dir(args)
    result = validate(config_dir, args.stack)
    if result.config is None or result.errors:
        raise UsageError(
            "the YAML does not validate (comparing against a broken model is unsafe)",
            f"run `vaultconf validate{' --stack ' + args.stack if args.stack else ''}` and fix what it lists",
            result.errors,
        )
    client = _client(args)
    items = find_unmanaged(client, result.config)
    if args.format == "json":
        write_json(out, {"unmanaged": [i.as_dict() for i in items]})
    else:
        for item in items:
            out.write(f"{item}\n")
        out.write(f"{len(items)} object(s) in Vault are not in the YAML\n")
    if not args.purge or not items:
        return EXIT_FINDINGS if items else EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("--purge needs confirmation", "run it in a terminal, or add --yes")
        answer = input(f"delete these {len(items)} object(s) from Vault? type 'purge' to confirm: ")
        if answer.strip() != "purge":
            out.write("nothing deleted\n")
            return EXIT_FINDINGS
    for line in purge(client, items):
        out.write(line + "\n")
    return EXIT_OK


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    from vaultconf.config.live import import_vault

    client = _client(args)
    target = pathlib.Path(args.output)
    result = import_vault(client, project=args.project, stack=args.stack_name)
    if target.exists() and any(target.iterdir()) and not args.force:
        raise UsageError(f"{target} is not empty", "add --force to overwrite its files, or pass another -o")
    target.mkdir(parents=True, exist_ok=True)
    for name, text in result.files.items():
        (target / name).write_text(text, encoding="utf-8")
        if args.format != "json":
            sys.stderr.write(f"wrote {target / name}\n")
    if args.format == "json":
        write_json(out, {"ok": True, "files": [str(target / n) for n in result.files],
                         "notes": list(result.notes)})
        return EXIT_OK
    for note in result.notes:
        sys.stderr.write(f"note: {note}\n")
    return EXIT_OK


# --- main --------------------------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="json: one document on stdout for every outcome, errors included")
    p.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                   help="auto (default): colour on a terminal unless NO_COLOR is set")


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="vaultconf",
        description="Vault configuration as code: check and "
        "inspect the desired-state YAML of the vaultconf stack.",
    )
    top.add_argument("--version", action="version", version=f"vaultconf {version()}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="schema, references, policy lint, least privilege")
    _add_config_args(p)
    _common(p)
    p.add_argument("--strict", action="store_true", help="warnings also give exit code 1")
    p.add_argument("--check-settings", action="store_true",
                   help="with --stack: also list every setting and secret Pulumi.<stack>.yaml lacks")
    p.add_argument("--settings-file", metavar="FILE",
                   help="the stack's settings file (default: Pulumi.<stack>.yaml beside Pulumi.yaml)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("diff", help="what differs between two stacks' desired state (promotion)")
    _add_config_args(p, stack=False)
    p.add_argument("source", help="stack promoted from, e.g. dev")
    p.add_argument("target", help="stack promoted to, e.g. staging")
    _common(p)
    p.add_argument("--exit-code", action="store_true", help="exit 1 when the stacks differ (like git diff)")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("convert", help="convert a 2015 vaultconf directory to this YAML")
    p.add_argument("source", help="old vaultconf directory (policies/<namespace>/<name>.yaml, users.yaml)")
    p.add_argument(
        "-o", "--output", help="write here instead of stdout (e.g. infra/config/base/imported.yaml)"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    _common(p)
    p.set_defaults(func=cmd_convert)

    for name, helptext in (
        ("unmanaged", "list (or --purge) what Vault holds but the YAML does not"),
        ("import", "write YAML (and a `pulumi import` file) for an existing Vault"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--vault-addr", help="Vault address (default: $VAULT_ADDR); the token is read "
                       "from $VAULT_TOKEN")
        p.add_argument("--ca-cert", help="CA bundle for Vault's TLS certificate (default: $VAULT_CACERT)")
        p.add_argument("--tls-skip-verify", action="store_const", const=True, default=None,
                       help="do not verify Vault's certificate (default: $VAULT_SKIP_VERIFY)")
        _common(p)
        if name == "unmanaged":
            _add_config_args(p)
            p.add_argument("--purge", action="store_true", help="delete the unmanaged objects (asks first)")
            p.add_argument("--yes", action="store_true", help="with --purge: do not ask")
            p.set_defaults(func=cmd_unmanaged)
        else:
            p.add_argument(
                "-o", "--output", default="imported", help="directory for the YAML and import file"
            )
            p.add_argument("--project", default="vaultconf", help="Pulumi project name (for URNs)")
            p.add_argument("--stack-name", default="dev", help="Pulumi stack the import file targets")
            p.add_argument("--force", action="store_true")
            p.set_defaults(func=cmd_import)
    return top


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    arguments = list(sys.argv[1:] if argv is None else argv)
    as_json = wants_json(arguments)
    try:
        try:
            args = parser().parse_args(arguments)
        except SystemExit as exc:  # --help / --version printed; keep their code
            return int(exc.code) if isinstance(exc.code, int) else EXIT_OK
        code: int = args.func(args, stream)
        return code
    except UnusableInput as exc:
        return _fail(stream, as_json, EXIT_UNUSABLE, exc.message, exc.loc, exc.fix)
    except UsageError as exc:
        return _fail(stream, as_json, EXIT_UNUSABLE, str(exc), None, exc.fix, exc.findings)
    except KeyboardInterrupt:
        return _fail(stream, as_json, EXIT_INTERRUPTED, "interrupted", None, "")
    except BrokenPipeError:  # `vaultconf diff dev prod | head`: the reader left; nothing more to say
        with_devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(with_devnull, sys.stdout.fileno())
        return EXIT_FINDINGS
    except Exception as exc:  # the promise is one line, never a traceback; name the type to help a bug report
        message = f"internal error ({type(exc).__name__}): {_one_line(str(exc))}"
        return _fail(stream, as_json, EXIT_UNUSABLE, message, None,
                     "report this with the command line that caused it")


def _fail(out: TextIO, as_json: bool, code: int, message: str, loc: Loc | None, fix: str,
          findings: Sequence[Finding] = ()) -> int:
    if as_json:
        write_json(out, error_document(code, message, file=loc.file if loc else "",
                                       line=loc.line if loc else 0, fix=fix, findings=findings))
        return code
    for finding in findings:
        sys.stderr.write(f"{finding}\n")
    where = f"{loc}: " if loc else ""
    hint = f" (fix: {fix})" if fix else ""
    sys.stderr.write(f"vaultconf: {where}{message}{hint}\n")
    return code


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:297] + "..."


__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_UNUSABLE", "Loc", "UsageError", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
