"""API keys, the clients file and rate limits: pure, with the clock passed in."""

import json
import os
from pathlib import Path

import pytest

from backtrack_shared.auth import (
    ADMIN,
    AUDIT_READ,
    CLINICAL_WRITE,
    EVENTS_WRITE,
    ROUTINE_READ,
    Client,
    Registry,
    authenticate,
    clients_file,
    issue_key,
)
from backtrack_shared.auth.cli import main as clients_cli
from backtrack_shared.auth.rate_limit import RateLimiter, retry_after_header

NOW = "2026-11-26T00:00:00+00:00"


def registry_with(*scopes: str) -> tuple[str, Registry]:
    key, record = issue_key("acme", scopes, NOW)
    return key, Registry([Client("acme", "ACME")], [record])


def test_a_key_stands_for_its_client_and_scopes_and_only_its_hash_is_kept():
    key, registry = registry_with(EVENTS_WRITE, ROUTINE_READ)
    principal = authenticate(registry, key)
    assert principal is not None and principal.client_id == "acme"
    assert principal.may(EVENTS_WRITE) and principal.may(ROUTINE_READ)
    assert not principal.may(AUDIT_READ) and not principal.may(ADMIN)
    (record,) = registry.keys.values()
    secret = key.split("_", 2)[2]  # bt_<key id>_<secret>; a secret may hold "_" itself
    assert secret not in json.dumps(record.__dict__, default=sorted)


def test_anything_but_a_live_key_is_nobody():
    key, registry = registry_with(EVENTS_WRITE)
    key_id = key.split("_")[1]
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    for presented in (None, "", "secret", tampered, key.replace(key_id, "a" * 12)):
        assert authenticate(registry, presented) is None, presented
    revoked = Registry(
        registry.clients.values(),
        [
            record.__class__(**{**record.__dict__, "revoked_at": NOW})
            for record in registry.keys.values()
        ],
    )
    assert authenticate(revoked, key) is None
    assert authenticate(Registry([], registry.keys.values()), key) is None  # client removed


def test_an_admin_may_do_everything_and_see_every_tenant_and_others_only_their_own():
    admin_key, admin_registry = registry_with(ADMIN)
    admin = authenticate(admin_registry, admin_key)
    assert admin is not None and admin.may(AUDIT_READ) and admin.sees("globex")
    app_key, app_registry = registry_with(ROUTINE_READ)
    app = authenticate(app_registry, app_key)
    assert app is not None and app.sees("acme") and not app.sees("globex")


def test_unknown_scopes_and_bad_client_ids_are_refused():
    with pytest.raises(ValueError, match="unknown scopes"):
        issue_key("acme", ["events:delete"], NOW)
    with pytest.raises(ValueError, match="client id"):
        issue_key("ACME Inc", [EVENTS_WRITE], NOW)


def test_the_cli_creates_lists_and_revokes_and_the_file_holds_no_key(tmp_path: Path, capsys):
    path = tmp_path / "clients.json"
    clients_cli(["--file", str(path), "create", "acme", "--scopes", "events:write,routine:read"])
    key = capsys.readouterr().out.strip()
    assert key.startswith("bt_") and key not in path.read_text()
    assert os.stat(path).st_mode & 0o077 == 0  # readable by its owner only
    principal = authenticate(clients_file.load(path), key)
    assert principal is not None and principal.scopes == {EVENTS_WRITE, ROUTINE_READ}

    clients_cli(["--file", str(path), "list"])
    assert "acme" in capsys.readouterr().out
    clients_cli(["--file", str(path), "revoke", principal.key_id])
    assert authenticate(clients_file.load(path), key) is None


def test_services_see_a_new_key_in_the_file_without_a_restart(tmp_path: Path):
    path = tmp_path / "clients.json"
    watched = clients_file.WatchedClientsFile(path, check_every_s=0)
    assert watched.registry().keys == {}  # no file yet: nobody gets in
    key, registry = registry_with(EVENTS_WRITE)
    clients_file.save(path, registry)
    assert authenticate(watched.registry(), key) is not None
    path.write_text("{ half written")
    assert authenticate(watched.registry(), key) is not None  # keeps the last good registry


def test_a_bucket_gives_its_burst_then_its_rate_and_says_how_long_to_wait():
    now = [0.0]
    limiter = RateLimiter(rate_per_s=10, burst=20, clock=lambda: now[0])
    assert limiter.take("acme", 20) == 0
    assert limiter.take("acme", 1) == pytest.approx(0.1)
    assert limiter.take("globex", 5) == 0  # every client has its own bucket
    now[0] = 0.5
    assert limiter.take("acme", 5) == 0  # 5 tokens came back in half a second
    assert limiter.take("acme", 5) == pytest.approx(0.5)
    now[0] = 100.0
    assert limiter.take("acme", 20) == 0 and limiter.take("acme", 1) > 0  # never above the burst
    assert retry_after_header(0.01) == "1" and retry_after_header(1.2) == "2"


def test_the_cli_issues_the_clinical_scope_and_the_development_key_carries_it(
    tmp_path: Path, capsys
):
    path = tmp_path / "clients.json"
    clients_cli(["--file", str(path), "create", "clinic", "--scopes", "events:write"])
    clients_cli(["--file", str(path), "add-key", "clinic", "--scopes", "clinical:write"])
    first, second = capsys.readouterr().out.split()
    registry = clients_file.load(path)
    for key, may_clear in ((first, False), (second, True)):
        principal = authenticate(registry, key)
        assert principal is not None and principal.may(CLINICAL_WRITE) is may_clear

    clients_cli(["--file", str(tmp_path / "dev" / "clients.json"), "dev"])
    dev_key = (tmp_path / "dev" / "dev-api-key").read_text().strip()
    dev = authenticate(clients_file.load(tmp_path / "dev" / "clients.json"), dev_key)
    assert dev is not None and CLINICAL_WRITE in dev.scopes
