"""`vaultconf`: validate | diff | convert | unmanaged | import.

Exit codes: 0 clean, 1 findings (or changes refused), 2 unusable input. Every failure is one line on stderr,
never a traceback. The Vault token comes from $VAULT_TOKEN only (argv is visible to every local user).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from vaultconf.config import Result, UnusableInput, find_config_dir, load_tree, stacks, validate
from vaultconf.config.findings import Loc

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line usage or environment (exit 2)."""


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


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    config_dir = _config_dir(args)
    names: list[str | None] = [args.stack] if args.stack else list(stacks(config_dir)) or [None]
    results: list[Result] = [validate(config_dir, name) for name in names]
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
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        printed: set[str] = set()
        for r in results:
            for f in r.findings:
                line = str(f)
                if line not in printed:  # base problems show once, not once per stack
                    printed.add(line)
                    out.write(line + "\n")
        label = ", ".join(r.stack or "base" for r in results)
        out.write(f"vaultconf validate [{label}]: {n_err} error(s), {n_warn} warning(s)\n")
    return EXIT_FINDINGS if n_err or (args.strict and n_warn) else EXIT_OK


# --- diff --------------------------------------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    from vaultconf.config.diff import diff

    config_dir = _config_dir(args)
    trees = []
    for stack in (args.source, args.target):
        result = validate(config_dir, stack)
        if result.errors:
            for f in result.errors:
                sys.stderr.write(f"{f}\n")
            raise UsageError(f"stack '{stack}' does not validate; fix it before diffing")
        trees.append(load_tree(config_dir, stack)[0])
    changes = diff(trees[0], trees[1])
    if args.format == "json":
        doc = {"from": args.source, "to": args.target, "changes": [c.as_dict() for c in changes]}
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        out.write(f"{args.source} -> {args.target}: {len(changes)} object(s) differ\n")
        for change in changes:
            out.write("\n".join(change.lines()) + "\n")
    return EXIT_OK


# --- convert -----------------------------------------------------------------------------------------------


def cmd_convert(args: argparse.Namespace, out: TextIO) -> int:
    from vaultconf.config.convert import convert

    result = convert(pathlib.Path(args.source))
    target = pathlib.Path(args.output) if args.output else None
    text = result.yaml()
    if target is None:
        out.write(text)
    else:
        if target.exists() and not args.force:
            raise UsageError(f"{target} exists (use --force to overwrite)")
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

    return VaultClient.from_env(args.vault_addr, ca_cert=args.ca_cert, skip_verify=args.tls_skip_verify)


def cmd_unmanaged(args: argparse.Namespace, out: TextIO) -> int:
    from vaultconf.config.live import find_unmanaged, purge

    if args.purge and not args.stack:
        raise UsageError(
            "--purge needs --stack: base alone lacks the stack's own objects, which would be deleted"
        )
    config_dir = _config_dir(args)
    result = validate(config_dir, args.stack)
    if result.config is None or result.errors:
        for f in result.errors:
            sys.stderr.write(f"{f}\n")
        raise UsageError(
            "the YAML does not validate; fix it first (purging against a broken model is unsafe)"
        )
    client = _client(args)
    items = find_unmanaged(client, result.config)
    if args.format == "json":
        out.write(json.dumps({"unmanaged": [i.as_dict() for i in items]}, indent=2) + "\n")
    else:
        for item in items:
            out.write(f"{item}\n")
        out.write(f"{len(items)} object(s) in Vault are not in the YAML\n")
    if not args.purge or not items:
        return EXIT_FINDINGS if items else EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("--purge needs confirmation: run it in a terminal, or add --yes")
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
        raise UsageError(f"{target} is not empty (use --force to overwrite its files)")
    target.mkdir(parents=True, exist_ok=True)
    for name, text in result.files.items():
        (target / name).write_text(text, encoding="utf-8")
        sys.stderr.write(f"wrote {target / name}\n")
    for note in result.notes:
        sys.stderr.write(f"note: {note}\n")
    return EXIT_OK


# --- main --------------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="vaultconf",
        description="Vault configuration as code: check and "
        "inspect the desired-state YAML of the vaultconf stack.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="schema, references, policy lint, least privilege")
    _add_config_args(p)
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--strict", action="store_true", help="warnings also give exit code 1")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("diff", help="what differs between two stacks' desired state (promotion)")
    _add_config_args(p, stack=False)
    p.add_argument("source", help="stack promoted from, e.g. dev")
    p.add_argument("target", help="stack promoted to, e.g. staging")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("convert", help="convert a 2015 vaultconf directory to this YAML")
    p.add_argument("source", help="old vaultconf directory (policies/<namespace>/<name>.yaml, users.yaml)")
    p.add_argument(
        "-o", "--output", help="write here instead of stdout (e.g. infra/config/base/imported.yaml)"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=cmd_convert)

    for name, helptext in (
        ("unmanaged", "list (or --purge) what Vault holds but the YAML does not"),
        ("import", "write YAML (and a `pulumi import` file) for an existing Vault"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument(
            "--vault-addr", required=True, help="Vault address; the token is read from $VAULT_TOKEN"
        )
        p.add_argument("--ca-cert", help="CA bundle for Vault's TLS certificate")
        p.add_argument("--tls-skip-verify", action="store_true")
        if name == "unmanaged":
            _add_config_args(p)
            p.add_argument("--format", choices=["text", "json"], default="text")
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
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage; keep its code (0 for --help, 2 otherwise)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_UNUSABLE
    try:
        code: int = args.func(args, stream)
        return code
    except UnusableInput as exc:
        sys.stderr.write(f"vaultconf: {exc}\n")
    except UsageError as exc:
        sys.stderr.write(f"vaultconf: {exc}\n")
    except KeyboardInterrupt:
        sys.stderr.write("vaultconf: interrupted\n")
        return 130
    except Exception as exc:  # the promise is one line, never a traceback; name the type to help a bug report
        sys.stderr.write(f"vaultconf: internal error ({type(exc).__name__}): {_one_line(str(exc))}\n")
    return EXIT_UNUSABLE


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:297] + "..."


__all__ = ["Loc", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
