"""The main loop against an in-memory Vault with a fake clock: no test sleeps."""

from __future__ import annotations

import itertools
import json
import os
import pathlib
from collections.abc import Callable
from typing import Any, cast

import pytest
from sidekick.config import Config, Resource
from sidekick.scheduler import Sidekick

from tests.sidekick.fakes import FakeClock, FakeVault


def make_config(tmp_path: pathlib.Path, *resources: Resource, password: str = "s3cret-pass") -> Config:
    login = tmp_path / "login"
    login.write_text(json.dumps({"username": "app", "password": password, "method": "userpass"}))
    cfg = Config()
    cfg.vault_addr = "http://127.0.0.1:1"
    cfg.auth_method, cfg.auth_file = "userpass", str(login)
    cfg.output_dir = str(tmp_path / "out")
    cfg.listen = ""
    cfg.resources = list(resources)
    return cfg.validate()


def resource(name: str, type_: str, path: str, **attrs: object) -> Resource:
    res = Resource(name, type_, path)
    res.format = {"pki": "cert"}.get(type_, "json")
    for key, value in attrs.items():
        setattr(res, key, value)
    return res


def runner(cfg: Config, vault: FakeVault, clock: FakeClock, horizon: float,
           check: Callable[[Sidekick], None] | None = None) -> tuple[Sidekick, Callable[[], int]]:
    """A Sidekick whose sleep advances the fake clock, checks invariants, and stops at `horizon`."""
    app: Sidekick

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if check is not None:
            check(app)
        if clock.now >= horizon:
            app.stop_event.set()

    app = Sidekick(cfg, client=cast(Any, vault), clock=clock, sleep=sleep, rng=lambda: 0.5)
    return app, app.run


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def vault(clock: FakeClock) -> FakeVault:
    return FakeVault(clock)


def test_lease_renewed_then_replaced_before_max_ttl(tmp_path: pathlib.Path, clock: FakeClock,
                                                    vault: FakeVault) -> None:
    db = resource("db", "secret", "database/creds/app", renew=True)
    cfg = make_config(tmp_path, db)
    seen_leases: set[str] = set()

    def check(app: Sidekick) -> None:
        task = app.tasks[0]
        assert task.fetched is not None
        lease = task.fetched.lease_id
        seen_leases.add(lease)
        # the lease whose credentials are on disk is always alive in Vault
        assert vault.leases[lease][1] > clock.now, "the written lease expired before a replacement"
        assert app.ready()[0]

    start = clock.now
    app, run = runner(cfg, vault, clock, start + 4 * 3600, check)
    assert run() == 0
    renews = [c for c in vault.calls if c[1] == "sys/leases/renew"]
    fetches = [c for c in vault.calls if c[1] == "database/creds/app"]
    # 600 s leases capped at 1800 s: renewed twice or so per lease, then replaced; ~8 leases in 4 h
    assert len(renews) >= 8 and 6 <= len(fetches) <= 12, (len(renews), len(fetches))
    assert len(seen_leases) == len(fetches)
    written = json.loads((tmp_path / "out" / "db").read_text())
    assert written["username"] == f"user-{vault.serial}" or written["username"].startswith("user-")
    assert app.metrics.renewals["db"] == len(renews)


def test_rotation_mode_fetches_new_secret_and_revokes_old(tmp_path: pathlib.Path, clock: FakeClock,
                                                          vault: FakeVault) -> None:
    db = resource("db", "secret", "database/creds/app", renew=False, revoke=True)
    cfg = make_config(tmp_path, db)
    _, run = runner(cfg, vault, clock, clock.now + 3600)
    assert run() == 0
    assert not [c for c in vault.calls if c[1] == "sys/leases/renew"]
    revokes = [c for c in vault.calls if c[1] == "sys/leases/revoke"]
    fetches = [c for c in vault.calls if c[1] == "database/creds/app"]
    assert len(fetches) >= 5
    assert len(revokes) == len(fetches)  # each replaced lease, plus the last one at shutdown
    assert vault.leases == {}


def test_token_renewed_and_relogin_at_max_ttl(tmp_path: pathlib.Path, clock: FakeClock,
                                              vault: FakeVault) -> None:
    vault.token_ttl, vault.token_max_ttl = 600, 1500
    kv = resource("cfg", "kv", "kv/app")
    vault.kv["app"] = {"a": "1"}
    cfg = make_config(tmp_path, kv)

    def check(app: Sidekick) -> None:
        assert vault.valid_tokens[vault.token] > clock.now, "the token expired before renewal/re-login"

    _, run = runner(cfg, vault, clock, clock.now + 3 * 3600, check)
    assert run() == 0
    logins = [c for c in vault.calls if c[1].startswith("auth/userpass/login")]
    renews = [c for c in vault.calls if c[1] == "auth/token/renew-self"]
    assert 6 <= len(logins) <= 10 and len(renews) >= len(logins), (len(logins), len(renews))
    assert not [c for c in vault.calls if c[0] == "GET" and "kv/" in c[1] and c[1] not in ("kv/data/app",)
                and not c[1].startswith("sys/")]


def test_revoked_token_and_rotated_password(tmp_path: pathlib.Path, clock: FakeClock,
                                            vault: FakeVault) -> None:
    vault.kv["app"] = {"a": "1"}
    cfg = make_config(tmp_path, resource("cfg", "kv", "kv/app"))
    events = {"done": False}

    def check(app: Sidekick) -> None:
        if clock.now > 1_800_000_000 + 1000 and not events["done"]:
            events["done"] = True
            # the admin rotates the password (new Secret content) and revokes the old token
            vault.password = "rotated-pass"
            creds = {"username": "app", "password": "rotated-pass"}
            pathlib.Path(cfg.auth_file).write_text(json.dumps(creds))
            vault.valid_tokens.clear()
            vault.kv["app"] = {"a": "2"}

    _, run = runner(cfg, vault, clock, clock.now + 2000, check)
    assert run() == 0
    assert json.loads((tmp_path / "out" / "cfg").read_text()) == {"a": "2"}
    assert len([c for c in vault.calls if c[1].startswith("auth/userpass/login")]) == 2


def test_vault_outage_backs_off_and_keeps_files(tmp_path: pathlib.Path, clock: FakeClock,
                                                vault: FakeVault) -> None:
    db = resource("db", "secret", "database/creds/app", renew=True)
    cfg = make_config(tmp_path, db)
    t0 = clock.now
    outage = (t0 + 100, t0 + 100 + 3 * 3600)
    readiness: list[tuple[float, bool]] = []

    def check(app: Sidekick) -> None:
        vault.down = outage[0] <= clock.now < outage[1]
        readiness.append((clock.now, app.ready()[0]))

    app, run = runner(cfg, vault, clock, t0 + 4 * 3600, check)
    assert run() == 0  # never exits because Vault is down
    # the retries during the 3 h outage back off (capped at 300 s; equal jitter at u=0.5 → 225 s apart)
    attempts = len([c for c in vault.calls if c[1].startswith("auth/")]) + app.metrics.failures["db"]
    assert 20 <= attempts <= 250, attempts  # not one every 0.5 s (that would be ~21600)
    assert max(clock.slept) <= 10.0  # the loop still wakes every 10 s (liveness heartbeat)
    # readiness turned false once the lease expired during the outage and true again afterwards
    assert any(not ok for t, ok in readiness if outage[0] + 600 < t < outage[1])
    assert readiness[-1][1]
    assert (tmp_path / "out" / "db").exists()
    assert app.metrics.failures["db"] > 5


def test_pki_reissued_from_not_after_and_kept_across_restart(tmp_path: pathlib.Path, clock: FakeClock,
                                                             vault: FakeVault) -> None:
    tls = resource("tls", "pki", "pki/issue/web", params={"common_name": "a.example"})
    cfg = make_config(tmp_path, tls)
    issued_at: list[float] = []
    seen = {"issues": 0}

    def check(app: Sidekick) -> None:
        issues = len([c for c in vault.calls if c[1] == "pki/issue/web"])
        if issues != seen["issues"]:
            seen["issues"] = issues
            issued_at.append(clock.now)
        f = app.tasks[0].fetched
        assert f is not None and f.not_after > clock.now

    start = clock.now
    _, run = runner(cfg, vault, clock, start + 3 * 3600, check)
    assert run() == 0
    # a 3630 s certificate (NotBefore 30 s back) is re-issued at 2/3 minus jitter: ~2300 s apart
    gaps = [b - a for a, b in itertools.pairwise(issued_at)]
    assert gaps and all(2200 < g < 2450 for g in gaps), gaps
    crt = (tmp_path / "out" / "tls.crt").read_text()
    assert "BEGIN CERTIFICATE" in crt and (tmp_path / "out" / "tls.key").stat().st_mode & 0o777 == 0o600
    issues = len([c for c in vault.calls if c[1] == "pki/issue/web"])
    # a restart shortly after does not re-issue the still-good certificate
    app2, run2 = runner(cfg, vault, clock, clock.now + 60)
    assert run2() == 0
    assert len([c for c in vault.calls if c[1] == "pki/issue/web"]) == issues
    assert app2.ready()[0]


def test_static_kv_rewritten_only_on_change(tmp_path: pathlib.Path, clock: FakeClock,
                                            vault: FakeVault) -> None:
    vault.kv["app"] = {"a": "1"}
    cfg = make_config(tmp_path, resource("cfg", "kv", "kv/app"))
    inodes: list[int] = []

    def check(app: Sidekick) -> None:
        inodes.append(os.stat(tmp_path / "out" / "cfg").st_ino)
        if clock.now > 1_800_000_000 + 1000:
            vault.kv["app"] = {"a": "2"}

    app, run = runner(cfg, vault, clock, clock.now + 2000, check)
    assert run() == 0
    reads = [c for c in vault.calls if c[1] == "kv/data/app"]
    assert 6 <= len(reads) <= 9  # every ~5 minutes
    assert len(set(inodes)) == 2  # one rewrite, when the content changed
    assert app.metrics.writes["cfg"] == 2


def test_one_shot_success_and_retries_spent(tmp_path: pathlib.Path, clock: FakeClock,
                                            vault: FakeVault) -> None:
    vault.kv["app"] = {"a": "1"}
    cfg = make_config(tmp_path, resource("cfg", "kv", "kv/app"))
    cfg.one_shot = True
    _, run = runner(cfg, vault, clock, clock.now + 10_000)
    assert run() == 0
    cfg2 = make_config(tmp_path, resource("cfg", "kv", "kv/app"), resource("gone", "kv", "kv/flaky",
                                                                           retries=2))
    cfg2.one_shot = True
    vault.calls.clear()
    vault.failing["kv/data/flaky"] = 503  # transient: retried, then the retries are spent
    app, run = runner(cfg2, vault, clock, clock.now + 10_000)
    assert run() == 1
    assert len([c for c in vault.calls if c[1] == "kv/data/flaky"]) == 3
    assert app.tasks[1].failed and "503" in app.tasks[1].last_error


def test_one_shot_cannot_login(tmp_path: pathlib.Path, clock: FakeClock, vault: FakeVault) -> None:
    cfg = make_config(tmp_path, resource("cfg", "kv", "kv/app"), password="wrong")
    cfg.one_shot = True
    _, run = runner(cfg, vault, clock, clock.now + 10_000)
    assert run() == 1
    # a wrong password (400) is permanent: one attempt, no retries
    assert len([c for c in vault.calls if c[1].startswith("auth/")]) == 1
    vault.calls.clear()
    vault.logins_fail = True  # 500: transient, retried until the retries are spent
    cfg = make_config(tmp_path, resource("cfg", "kv", "kv/app"))
    cfg.one_shot = True
    _, run = runner(cfg, vault, clock, clock.now + 10_000)
    assert run() == 1
    assert len([c for c in vault.calls if c[1].startswith("auth/")]) == cfg.retries + 1


def test_template_combines_resources(tmp_path: pathlib.Path, clock: FakeClock, vault: FakeVault) -> None:
    vault.kv["app"] = {"user": "u1"}
    db = resource("db", "secret", "database/creds/app", renew=True)
    combo = resource("combo", "kv", "kv/app", format="template",
                     template="{{ data.user }}:{{ secrets['db'].password }}\n")
    cfg = make_config(tmp_path, db, combo)
    _, run = runner(cfg, vault, clock, clock.now + 5)
    assert run() == 0
    password = json.loads((tmp_path / "out" / "db").read_text())["password"]
    assert password.startswith("pw-")
    assert (tmp_path / "out" / "combo").read_text() == f"u1:{password}\n"


def test_short_backdated_certificate_does_not_loop(tmp_path: pathlib.Path, clock: FakeClock,
                                                   vault: FakeVault) -> None:
    vault.cert_ttl = 9  # NotBefore is back-dated 30 s, as Vault does
    tls = resource("tls", "pki", "pki/issue/web", params={"common_name": "a.example"})
    cfg = make_config(tmp_path, tls)
    _, run = runner(cfg, vault, clock, clock.now + 60)
    assert run() == 0
    issues = len([c for c in vault.calls if c[1] == "pki/issue/web"])
    assert 9 <= issues <= 12, issues  # every ~5.7 s (2/3 of 9 s minus jitter), not every 0.5 s


def test_failed_relogin_keeps_using_the_valid_token(tmp_path: pathlib.Path, clock: FakeClock,
                                                   vault: FakeVault) -> None:
    vault.token_ttl, vault.token_max_ttl = 600, 600  # not renewable beyond 600 s: re-login at ~2/3
    vault.kv["app"] = {"a": "1"}
    cfg = make_config(tmp_path, resource("cfg", "kv", "kv/app", update=30.0))
    t0 = clock.now

    def check(app: Sidekick) -> None:
        vault.logins_fail = clock.now > t0 + 100  # every login after the first fails (HTTP 500)
        if clock.now > t0 + 450:
            vault.kv["app"] = {"a": "2"}

    _, run = runner(cfg, vault, clock, t0 + 595, check)
    assert run() == 0
    # the refreshes went on with the first token while it was valid, despite the failing re-logins, which
    # were retried (30-60 s apart: a valid token is in place)
    assert json.loads((tmp_path / "out" / "cfg").read_text()) == {"a": "2"}
    assert len([c for c in vault.calls if c[1].startswith("auth/userpass/login")]) > 2


def test_rotated_credentials_file_logs_in_again_at_once(tmp_path: pathlib.Path, clock: FakeClock,
                                                        vault: FakeVault) -> None:
    """A kubelet-style symlink swap of the credentials file: one login right away with the new password
    (not at the next scheduled login, 40 min later), and a failing new password never drops the old token."""
    cfg = make_config(tmp_path, resource("cfg", "kv", "kv/data/app", update=60.0))
    vault.kv["app"] = {"a": "1"}
    login = pathlib.Path(cfg.auth_file)
    events: list[str] = []

    def rotate(password: str) -> None:
        new = login.with_name(f"login-{password}")
        new.write_text(json.dumps({"username": "app", "password": password, "method": "userpass"}))
        tmp = login.with_name("login.tmp")
        tmp.symlink_to(new.name)
        os.replace(tmp, login)

    def check(app: Sidekick) -> None:
        t = clock.now - start
        if 300 <= t < 310 and "rotated" not in events:
            events.append("rotated")
            vault.password = "second-pass"
            rotate("second-pass")
        if 600 <= t < 610 and "broken" not in events:
            events.append("broken")
            rotate("not-the-password")  # a bad Secret: Vault still has second-pass
        if 312 <= t < 600:
            assert app.metrics.logins == 2, "the rotated password was not used within 10 s"
        if t >= 610:  # the second-pass token still serves
            assert vault.valid_tokens.get(vault.token, 0) > clock.now
            serving.add(vault.token)
        assert app.token is not None

    start = clock.now
    serving: set[str] = set()
    app, run = runner(cfg, vault, clock, start + 1200, check)
    assert run() == 0
    attempts = [c for c in vault.calls if c[1].startswith("auth/userpass/login/")]
    # the first login, one at most 10 s after the rotation, then failed retries of the bad password only
    assert app.metrics.logins == 2, app.metrics.logins
    assert app.metrics.login_failures >= 2 and len(attempts) == 2 + app.metrics.login_failures
    assert len(serving) == 1 and vault.revoked_tokens == list(serving)  # handed back at exit
    assert vault.token == ""  # and forgotten
    assert app.metrics.fetches["cfg"] >= 1 and not app.tasks[0].last_error  # KV kept being read throughout
    assert len([c for c in vault.calls if c[1] == "kv/data/app"]) >= 18


def test_outage_retries_stay_under_two_a_minute_per_secret_and_recover_together(
        tmp_path: pathlib.Path, clock: FakeClock, vault: FakeVault) -> None:
    """10-minute token, lease and certificate; Vault away for 20 minutes. Secrets fall due one after the
    other during the outage: none starts a fresh burst of fast retries, none speeds up as it nears expiry;
    when Vault is back, one answered request brings every waiting secret back at once."""
    vault.token_ttl = vault.lease_ttl = vault.cert_ttl = 600.0
    vault.lease_max_ttl = vault.token_max_ttl = 100 * 600.0
    vault.kv["app"] = {"a": "1"}
    cfg = make_config(tmp_path, resource("db", "secret", "database/creds/app", renew=True),
                      resource("tls", "pki", "pki/issue/web", params={"common_name": "a.example"}),
                      resource("cfg", "kv", "kv/data/app", update=300.0))
    t0 = clock.now
    outage = (t0 + 120, t0 + 120 + 1200)
    calls: dict[str, list[float]] = {}
    original = vault.call

    def counted(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        if outage[0] <= clock.now < outage[1]:
            what = ("db" if path.startswith(("sys/leases", "database/")) else
                    "kv" if path.startswith(("sys/internal", "kv/")) else path.split("/")[0])
            calls.setdefault(what, []).append(clock.now)
        return original(method, path, *args, **kwargs)

    vault.call = counted  # type: ignore[method-assign]

    def check(app: Sidekick) -> None:
        vault.down = outage[0] <= clock.now < outage[1]

    app, run = runner(cfg, vault, clock, outage[1] + 400, check)
    assert run() == 0
    assert set(calls) == {"auth", "db", "pki", "kv"}, calls.keys()
    for what, times in calls.items():
        for start in range(int(outage[0]) + 120, int(outage[1]) - 60, 5):
            in_minute = [t for t in times if start <= t < start + 60]
            assert len(in_minute) <= 2, (what, start - outage[0], in_minute)
    # back together: every resource refreshed soon after the first answered request
    assert app.down_since is None
    for task in app.tasks:
        assert task.attempts == 0 and task.written and task.expires > clock.now, task.res.name


def test_start_up_with_vault_away_retries_quickly_at_first(tmp_path: pathlib.Path, clock: FakeClock,
                                                          vault: FakeVault) -> None:
    """Nothing on disk yet (a pod waiting for its files): quick exponential steps, not the 30-60 s pace
    kept while a valid secret is in place."""
    vault.kv["app"] = {"a": "1"}
    cfg = make_config(tmp_path, resource("cfg", "kv", "kv/data/app"))
    t0 = clock.now
    vault.down = True

    def check(app: Sidekick) -> None:
        vault.down = clock.now < t0 + 20

    app, run = runner(cfg, vault, clock, t0 + 120, check)
    assert run() == 0
    attempts = [c for c in vault.calls if c[1].startswith("auth/userpass/login")]
    assert len(attempts) >= 5, attempts  # 0, ~0.75, ~2.25, ~5.25, ~11.25 s ...
    assert app.tasks[0].written


def test_a_lease_whose_files_cannot_be_written_is_revoked(tmp_path: pathlib.Path, clock: FakeClock,
                                                          vault: FakeVault, monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Writes fail for a while (a full or read-only volume): each retry's fresh lease never reaches the
    disk, so it is revoked at once rather than left alive in Vault until its TTL."""
    import sidekick.leases as scheduler_module  # the resource keeper writes the files

    cfg = make_config(tmp_path, resource("db", "secret", "database/creds/app", renew=False))
    t0 = clock.now
    real = scheduler_module.write_files

    def write_files(*args: Any, **kwargs: Any) -> Any:
        if t0 + 300 < clock.now < t0 + 900:
            raise OSError(28, "No space left on device", str(tmp_path / "out"))
        return real(*args, **kwargs)

    monkeypatch.setattr(scheduler_module, "write_files", write_files)
    app, run = runner(cfg, vault, clock, t0 + 1000, None)
    assert run() == 0
    fetches = [c for c in vault.calls if c[1] == "database/creds/app"]
    revokes = [c for c in vault.calls if c[1] == "sys/leases/revoke"]
    assert app.metrics.failures["db"] >= 2 and len(revokes) == app.metrics.failures["db"]
    assert len(fetches) == len(revokes) + app.metrics.fetches["db"]
    on_disk = app.tasks[0].fetched
    assert on_disk is not None and app.tasks[0].written
    alive = [lease for lease, (_, expiry) in vault.leases.items() if expiry > clock.now]
    assert alive == [on_disk.lease_id], alive  # only the lease whose credentials are on disk


@pytest.mark.parametrize("path", ["aws/creds/app", "aws/sts/app"])
def test_aws_credentials_are_read_renewed_and_revoked(tmp_path: pathlib.Path, clock: FakeClock,
                                                      vault: FakeVault, path: str) -> None:
    """AWS credentials, creds and sts alike, are fetched with a GET (`read` is all a policy grants,
    contract.CAPABILITIES; the fake refuses a POST), their params in the query; the lease is renewed and,
    with revoke, handed back at shutdown."""
    res = resource("cloud", "aws", path, params={"ttl": "15m"}, revoke=True)
    res.format = "aws"
    cfg = make_config(tmp_path, res)
    app, run = runner(cfg, vault, clock, clock.now + 900)
    assert run() == 0
    assert [m for m, p in vault.calls if p == path] == ["GET"] and vault.aws_queries == [{"ttl": "15m"}]
    assert any(p == "sys/leases/renew" for _, p in vault.calls)  # renewed at ~2/3 of its 600 s lease
    data = app.tasks[0].fetched.data if app.tasks[0].fetched else {}
    text = (tmp_path / "out" / "cloud").read_text()
    assert f"aws_access_key_id={data['access_key']}\naws_secret_access_key={data['secret_key']}\n" in text
    assert not vault.leases  # revoked at shutdown
