"""`dutydesk backup|restore|forget|reload`: the commands an operator runs beside the desk."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from bot.app.config import ConfigError, load_config
from bot.app.registry import IDENTITY_EXAMPLES
from bot.core.clock import SystemClock
from storage import AnotherRunner, open_store


def add_commands(sub: argparse._SubParsersAction,  # type: ignore[type-arg]
                 database_args: Callable[[argparse.ArgumentParser], None], default_config: str) -> None:
    backup = sub.add_parser("backup", help="a consistent copy of the database, while the desk runs (SQLite)")
    database_args(backup)
    backup.add_argument("file", type=Path, help="where to write the copy")
    backup.set_defaults(handler=_backup)

    restore = sub.add_parser("restore", help="replace the database with a backup (the desk must be stopped)")
    database_args(restore)
    restore.add_argument("file", type=Path, help="the backup to restore")
    restore.set_defaults(handler=_restore)

    forget = sub.add_parser("forget", help="erase one customer's personal data (names, texts, chat ids)")
    database_args(forget)
    forget.add_argument("identity", help=f"the customer, e.g. {IDENTITY_EXAMPLES}")
    forget.set_defaults(handler=_forget)

    reload = sub.add_parser("reload", help="make the running desk re-read its config (sends it SIGHUP)")
    reload.add_argument("--config", default=default_config, help="the config the desk runs with")
    reload.set_defaults(handler=_reload)


def _target(args: argparse.Namespace) -> str:
    """The database URL: `--db FILE` (which need not exist yet for a restore) or the config's."""
    if args.db is not None:
        return f"sqlite:///{args.db.resolve()}"
    return load_config(args.config).storage.url


def where(url: str, *, user: bool = False) -> str:
    """The database, named without the password a PostgreSQL URL may carry (and without
    its user name unless `user`)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return url
    login = f"{parts.username}@" if user and parts.username else ""
    return f"{parts.scheme}://{login}{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}{parts.path}"


def _sqlite_file(url: str, command: str) -> Path | None:
    """The SQLite database's file; None (having said which tool to use) for PostgreSQL."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    name = where(url, user=True)
    tool = (f"pg_dump --format=custom --file=FILE '{name}'" if command == "backup"
            else f"pg_restore --clean --if-exists --dbname='{name}' FILE")
    print(f"dutydesk {command}: PostgreSQL has its own tool, consistent while the desk runs: {tool}"
          " (add --schema NAME if the desk's url sets a search_path)", file=sys.stderr)
    return None


def _backup(args: argparse.Namespace) -> int:
    from storage.backup import NotADeskDatabase, backup

    path = _sqlite_file(_target(args), "backup")
    if path is None:
        return 1
    try:
        snapshot = backup(path, args.file)
    except NotADeskDatabase as exc:
        raise ConfigError(str(exc)) from None
    print(f"{snapshot.path}: backup of {path}: {snapshot.tickets} tickets, schema version {snapshot.version}, "
          f"{snapshot.size} bytes, integrity ok")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from storage.backup import NotADeskDatabase, restore

    path = _sqlite_file(_target(args), "restore")
    if path is None:
        return 1
    try:
        snapshot = restore(args.file, path)
    except NotADeskDatabase as exc:
        raise ConfigError(str(exc)) from None
    except AnotherRunner as exc:
        print(f"dutydesk restore: a desk is running on {path} ({exc}); stop it first", file=sys.stderr)
        return 1
    print(f"{path}: restored from {args.file}: {snapshot.tickets} tickets, schema version {snapshot.version}, "
          "integrity ok")
    return 0


def _forget(args: argparse.Namespace) -> int:
    from bot.flows.erasure import forget

    if ":" not in args.identity:
        raise ConfigError(f'"{args.identity}" is not an identity: write channel:id, e.g. {IDENTITY_EXAMPLES}')

    async def run() -> tuple[str, list[int]]:
        store = await open_store(_target(args))
        try:
            return await forget(store, args.identity, SystemClock().now())
        finally:
            await store.close()

    pseudonym, tickets = asyncio.run(run())
    if not tickets:
        print(f"dutydesk forget: no tickets of {args.identity}", file=sys.stderr)
        return 1
    print(f"erased {args.identity} from {len(tickets)} tickets ({', '.join(f'T-{t}' for t in tickets)}); "
          f"they now read {pseudonym}, with their SLA figures kept")
    return 0


def _reload(args: argparse.Namespace) -> int:
    from bot.app.reload import signal_reload

    load_config(args.config)  # refused here, with its error, before the desk is bothered
    pid = signal_reload(args.config)
    print(f"{args.config}: valid; sent SIGHUP to the desk (pid {pid}): it reloads and logs what changed")
    return 0
