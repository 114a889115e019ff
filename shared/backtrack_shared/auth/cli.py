"""`backtrack-clients`: create client applications, issue and revoke their API keys.

    backtrack-clients create acme-watch --scopes events:write,routine:read
    backtrack-clients add-key acme-watch --scopes audit:read
    backtrack-clients revoke KEY_ID
    backtrack-clients list
    backtrack-clients dev          # what `make run` does: a development client, key printed

A key is printed once and stored nowhere but in the client's hands: the file keeps its hash.
The file is CLIENTS_FILE (default data/clients.json), or --file.
"""

import argparse
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from backtrack_shared.auth import clients_file
from backtrack_shared.auth.keys import (
    ADMIN,
    ALL_SCOPES,
    Client,
    Registry,
    check_client_id,
    issue_key,
)

DEV_CLIENT = "dev"
PLANNER_CLIENT = "planner"


def default_path() -> Path:
    data_dir = os.environ.get("BACKTRACK_DATA_DIR") or "data"
    return Path(os.environ.get("CLIENTS_FILE") or Path(data_dir) / "clients.json")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def add_key(path: Path, client_id: str, scopes: list[str], *, create: bool, name: str = "") -> str:
    """Issue a key for the client (creating the client first with `create`); return the key."""
    registry = clients_file.load(path)
    clients = dict(registry.clients)
    if create:
        if client_id in clients:
            raise SystemExit(f"client {client_id} exists already: use add-key")
        clients[client_id] = Client(check_client_id(client_id), name)
    elif client_id not in clients:
        raise SystemExit(f"no client {client_id}: create it first")
    try:
        key, record = issue_key(client_id, scopes, _now())
    except ValueError as err:
        raise SystemExit(str(err)) from None
    clients_file.save(path, Registry(clients.values(), [*registry.keys.values(), record]))
    return key


def revoke(path: Path, key_id: str) -> None:
    registry = clients_file.load(path)
    if key_id not in registry.keys:
        raise SystemExit(f"no key {key_id}")
    keys = dict(registry.keys)
    keys[key_id] = replace(keys[key_id], revoked_at=_now())
    clients_file.save(path, Registry(registry.clients.values(), keys.values()))


def _write_owner_only(folder: Path, path: Path, text: str) -> None:
    """Write a secret to a file that is the owner's only from its creation on."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(handle, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(handle, "w") as out:
        out.write(text)


def development_keys(path: Path, key_dir: Path) -> str:
    """Make sure a development client (every scope) and the planner's own client (admin: it
    reads traininglog's feed) have keys, written to `key_dir` readable by the owner only;
    return the development key. Used by `make run`; never for production."""
    keys = {}
    for client_id, scopes, file_name in (
        (DEV_CLIENT, list(ALL_SCOPES), "dev-api-key"),
        (PLANNER_CLIENT, [ADMIN], "planner-api-key"),
    ):
        key_file = key_dir / file_name
        if key_file.exists() and client_id in clients_file.load(path).clients:
            key_file.chmod(0o600)  # one written before files were the owner's only
            keys[client_id] = key_file.read_text().strip()
            continue
        exists = client_id in clients_file.load(path).clients
        key = add_key(path, client_id, scopes, create=not exists, name=f"{client_id} (make run)")
        _write_owner_only(key_dir, key_file, key + "\n")
        keys[client_id] = key
    return keys[DEV_CLIENT]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="backtrack-clients",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--file", type=Path, default=None, help="the clients file")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (
        ("create", "a new client and its first key"),
        ("add-key", "another key for a client"),
    ):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("client_id")
        command.add_argument(
            "--scopes", required=True, help=f"comma-separated, of: {', '.join(ALL_SCOPES)}"
        )
        if name == "create":
            command.add_argument("--name", default="", help="who the client is, for people")
    commands.add_parser("revoke", help="revoke a key at once").add_argument("key_id")
    commands.add_parser("list", help="clients and their keys (never the secrets)")
    commands.add_parser("dev", help="development keys for make run, printed")
    args = parser.parse_args(argv)
    path = args.file or default_path()

    if args.command in ("create", "add-key"):
        scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
        key = add_key(
            path,
            args.client_id,
            scopes,
            create=args.command == "create",
            name=getattr(args, "name", ""),
        )
        print(key)
        print(f"(shown once; its hash is in {path})", file=sys.stderr)
    elif args.command == "revoke":
        revoke(path, args.key_id)
        print(f"revoked {args.key_id}")
    elif args.command == "list":
        registry = clients_file.load(path)
        for key in registry.keys.values():
            state = f"revoked {key.revoked_at}" if key.revoked_at else "live"
            print(f"{key.client_id}\t{key.key_id}\t{','.join(sorted(key.scopes))}\t{state}")
    else:
        key_dir = path.parent
        key = development_keys(path, key_dir)
        print(f"development API key (every scope), also in {key_dir / 'dev-api-key'}:\n{key}")


if __name__ == "__main__":
    main()
