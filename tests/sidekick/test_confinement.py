"""Output confinement: every file the sidekick writes stays inside its directory, a key that names a file
is one safe segment, no resource writes another's file, and a refused secret fails only its resource."""

from __future__ import annotations

import json
import os
import pathlib

import pytest
from sidekick.__main__ import main
from sidekick.config import Resource
from sidekick.errors import SidekickConfigError
from sidekick.formats import render
from sidekick.outputs import MAX_FILES, Claims, OutputRefused, write_files

from tests.sidekick.fakes import FakeClock, FakeVault
from tests.sidekick.test_scheduler import make_config, resource, runner


def tree(root: pathlib.Path) -> dict[str, bytes | str]:
    """Every entry below root: file contents, or the target of a symlink."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            path = pathlib.Path(dirpath, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                out[rel] = path.read_bytes()
    return out


def txt(name: str, file: str) -> Resource:
    res = Resource(name, "secret", f"secret/{name}")
    res.format, res.file = "txt", file
    return res


def claims_for(out: pathlib.Path, *resources: Resource) -> Claims:
    claims = Claims(str(out))
    claims.add("the state file", [str(out / ".sidekick-state.json")])
    from sidekick.formats import file_names

    for res in resources:
        names, prefix = file_names(res)
        claims.add(Claims.label(res.name), names, prefix)
    return claims


HOSTILE_KEYS = ["x/../../../evil", "y/../tls.crt", "..", ".", ".hidden", "/etc/passwd", "a\x00b", "a\nb",
                "k" * 300, "back\\slash", "", "\ud800"]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_a_key_that_is_not_one_safe_segment_writes_nothing(tmp_path: pathlib.Path, key: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "tls.crt").write_bytes(b"the real certificate")
    before = tree(tmp_path)
    res = txt("app", "app")
    claims = claims_for(out, res)
    files = render(res, {key: "VALUE-MARK", "ok": "fine"})
    with pytest.raises(OutputRefused) as info:
        write_files(files, claims=claims, claimant=Claims.label("app"))
    assert "VALUE-MARK" not in str(info.value) and "cannot be a file name" in str(info.value)
    assert tree(tmp_path) == before  # not even the good key's file: a group is written whole or not at all


def test_keys_that_are_plain_names_are_written(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "out"
    res = txt("app", "app")
    data = {"user": "u", "pass word": "p", "é.x": "e", "k" * 200: "long"}
    write_files(render(res, data), claims=claims_for(out, res), claimant=Claims.label("app"))
    assert tree(out) == {f"app.{k}": v.encode() for k, v in data.items()}


def test_a_key_may_not_take_another_resources_file(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "out"
    cert = Resource("tls", "secret", "secret/tls")
    cert.format, cert.file = "cert", "tls"
    spy = txt("spy", "tls")  # FILE.KEY: the key "crt" would be tls.crt, the certificate's file
    sneak = txt("sneak", ".sidekick-state")  # the key "json" would be the state file
    claims = claims_for(out, cert, spy, sneak)
    write_files(render(cert, {"certificate": "C", "private_key": "K", "issuing_ca": "A"}), claims=claims,
                claimant=Claims.label("tls"))
    before = tree(out)
    with pytest.raises(OutputRefused, match="belongs to resource 'tls'"):
        write_files(render(spy, {"crt": "evil", "x": "y"}), claims=claims, claimant=Claims.label("spy"))
    with pytest.raises(OutputRefused, match="belongs to the state file"):
        write_files(render(sneak, {"json": "{}", "x": "y"}), claims=claims, claimant=Claims.label("sneak"))
    with pytest.raises(OutputRefused, match="may not write"):
        write_files([("elsewhere", b"x")], claims=claims, claimant=Claims.label("spy"))
    assert tree(out) == before
    # a key-named file, once written, is its resource's: another txt resource cannot take it over
    other = txt("other", "tls.x")
    claims.add(Claims.label("other"), ["tls.x"], "tls.x.")
    write_files(render(spy, {"x.y": "mine", "z": "1"}), claims=claims, claimant=Claims.label("spy"))
    with pytest.raises(OutputRefused, match="belongs to resource 'spy'"):
        write_files(render(other, {"y": "theirs", "w": "2"}), claims=claims, claimant=Claims.label("other"))
    assert (out / "tls.x.y").read_bytes() == b"mine"


def test_symlinks_in_the_volume_are_never_followed(tmp_path: pathlib.Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (outside / "victim").write_bytes(b"untouched")
    (out / "sub").symlink_to(outside)                      # a directory link
    (out / "db.json").symlink_to(outside / "victim")       # a leaf link
    with pytest.raises(OutputRefused, match="symlink"):
        write_files([("sub/victim", b"evil")], root=str(out))
    write_files([("db.json", b"secret")], root=str(out))   # replaces the link itself
    assert not (out / "db.json").is_symlink() and (out / "db.json").read_bytes() == b"secret"
    # a planted temp file (a hard link to a file elsewhere) is never written into
    planted = out / f".sidekick-tmp-{os.getpid()}-0"
    os.link(outside / "victim", planted)
    write_files([("x", b"secret")], root=str(out))
    assert (outside / "victim").read_bytes() == b"untouched"
    assert tree(outside) == {"victim": b"untouched"}


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "/etc/../..", ".", "a/\x00"])
def test_a_name_leaving_the_root_is_refused(tmp_path: pathlib.Path, name: str) -> None:
    with pytest.raises(OutputRefused):
        write_files([(name, b"x")], root=str(tmp_path / "out"))
    assert not (tmp_path / "evil").exists()


def test_too_many_files_and_directories_in_the_way(tmp_path: pathlib.Path) -> None:
    res = txt("app", "app")
    data = {f"k{i}": "v" for i in range(MAX_FILES + 1)}
    with pytest.raises(OutputRefused, match="at most"):
        write_files(render(res, data), claims=claims_for(tmp_path, res), claimant=Claims.label("app"))
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputRefused, match="is a directory"):
        write_files([("d", b"x")], root=str(tmp_path))


def test_an_absolute_file_outside_the_output_directory_is_refused_at_start(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every file stays inside the output directory: an absolute `file=` elsewhere is exit 2 before any
    login, and the writer refuses it too; an absolute name inside the directory is fine."""
    out, other = tmp_path / "out", tmp_path / "elsewhere"
    base = ["-vault=http://127.0.0.1:1", f"-output={out}", "-one-shot"]
    assert main([*base, f"-cn=secret:s/x:fmt=txt,file={other / 'app'}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "leaves the output directory" in err and "Traceback" not in err, err
    with pytest.raises(OutputRefused):
        write_files(render(txt("abs", str(other / "app")), {"a": "1"}), root=str(out))
    assert not other.exists()
    inside = txt("abs", str(out / "sub" / "app"))
    claims = claims_for(out, inside)
    write_files(render(inside, {"a": "1", "b": "2"}), claims=claims, claimant=Claims.label("abs"))
    assert tree(out / "sub") == {"app.a": b"1", "app.b": b"2"}
    with pytest.raises(OutputRefused):
        write_files(render(inside, {"../../x": "1", "b": "2"}), claims=claims, claimant=Claims.label("abs"))
    assert not (tmp_path / "x").exists()


def test_two_resources_writing_one_file_is_a_configuration_error(tmp_path: pathlib.Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    base = ["-vault=http://127.0.0.1:1", f"-output={tmp_path}", "-one-shot"]
    clashes = [
        ["-cn=pki:pki/issue/web:common_name=a.example,fmt=cert,file=tls",
         "-cn=secret:s/x:fmt=json,file=tls.crt"],
        ["-cn=secret:s/a:fmt=bundle,file=b", "-cn=secret:s/c:fmt=certchain,file=b"],
        ["-cn=secret:s/state:fmt=json,file=.sidekick-state.json"],
    ]
    for args in clashes:
        assert main(base + args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "both write" in err and "Traceback" not in err, err
    main(base + clashes[0])
    err = capsys.readouterr().err
    assert "'tls'" in err and "'tls.crt'" in err  # names both resources
    with pytest.raises(SidekickConfigError, match="the state file and resource 'state'"):
        make_config(tmp_path, resource("state", "secret", "s/x", file=".sidekick-state.json"))


def test_a_refused_secret_fails_only_its_resource(tmp_path: pathlib.Path) -> None:
    """Sidecar mode: the hostile resource fails on every refresh, writes nothing, says why (no value) in
    the log and the failure counter; the good resource is written and refreshed on."""
    clock = FakeClock()
    vault = FakeVault(clock)
    vault.kv["good"] = {"password": "fine-value"}
    vault.kv["evil"] = {"x/../../../evil": "EVIL-VALUE", "PATH": "/tmp/evil"}
    good = resource("good", "kv", "kv/good", format="env", file="good.env")
    evil = resource("evil", "kv", "kv/evil", format="txt", file="evil")
    cfg = make_config(tmp_path, good, evil)
    app, run = runner(cfg, vault, clock, clock.now + 1200)
    assert run() == 0
    out = tmp_path / "out"
    written = tree(out)
    state = json.loads(written.pop(".sidekick-state.json", b"{}"))
    assert written == {"good.env": b"PASSWORD='fine-value'\n"}
    assert app.metrics.failures.get("evil", 0) >= 2 and not app.metrics.failures.get("good")
    assert app.metrics.fetches["good"] >= 2  # kept refreshing meanwhile
    task = app.tasks[1]
    assert not task.written and task.fetched is None and "cannot be a file name" in task.last_error
    assert "EVIL-VALUE" not in task.last_error and "EVIL-VALUE" not in app.metrics.render()
    assert not (tmp_path / "evil").exists()
    assert "EVIL-VALUE" not in json.dumps(state)
