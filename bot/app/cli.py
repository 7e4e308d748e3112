"""`dutydesk` — the command line: run the desk, check a config, read tickets, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.app.config import Config, ConfigError, check_secrets, literal_secrets, load_config
from bot.app.logs import FORMATS, configure_logging
from bot.app.operations import add_commands
from bot.app.operations import where as _where
from bot.app.registry import CHANNELS
from bot.app.registry import IDENTITY_EXAMPLES as _IDENTITIES
from routing.durations import parse_duration

if TYPE_CHECKING:
    from bot.delivery.contract import Adapter

DEFAULT_CONFIG = "config.toml"
_NAMES = ", ".join(d.name for d in CHANNELS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level, args.log_format)  # secrets redacted in either format
    try:
        return int(args.handler(args) or 0)
    except ConfigError as exc:
        print(f"dutydesk: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dutydesk", description=f"A support desk in chat: {_NAMES}.")
    _global_options(parser)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the desk: channels, dispatcher, scheduler, HTTP server")
    run.add_argument("--config", default=DEFAULT_CONFIG, help="TOML config file (default: %(default)s)")
    run.set_defaults(handler=_run)

    check = sub.add_parser("check-config", help="validate a config file and the secrets it needs")
    check.add_argument("file")
    check.set_defaults(handler=_check_config)

    tickets = sub.add_parser("tickets", help="read tickets from the database")
    tickets_sub = tickets.add_subparsers(required=True, metavar="ACTION")
    listing = tickets_sub.add_parser("list", help="recent tickets")
    _database_args(listing)
    listing.add_argument("--status", default="open", help="open, all, or a status (default: open)")
    listing.add_argument("--assignee")
    listing.add_argument("--customer", help=f"identity, e.g. {_IDENTITIES}")
    listing.add_argument("--org")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=_tickets_list)
    show = tickets_sub.add_parser("show", help="one ticket: messages, events, deliveries")
    _database_args(show)
    show.add_argument("ticket", help="e.g. T-1042")
    show.set_defaults(handler=_tickets_show)

    _deadletter_commands(sub)

    explain = sub.add_parser("explain", help="dry run: how the desk would route a message, and its deadlines (JSON)")
    explain.add_argument("--config", default=DEFAULT_CONFIG, help="TOML config file (default: %(default)s)")
    source = explain.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the customer's message")
    source.add_argument("--jsonl", type=Path, help="one JSON object per line: text, from, at")
    explain.add_argument("--from", dest="sender", help=f"sender identity, e.g. {_IDENTITIES}")
    explain.add_argument("--at", help="when, with offset: 2026-03-08T23:10+03:00 (default: now)")
    explain.set_defaults(handler=_explain)

    report = sub.add_parser("report", help="SLA compliance: first response and resolution met, p50/p90 times")
    _database_args(report)
    report.add_argument("--since", required=True, help="start: 2026-11-01, 2026-11-01T09:00+03:00, or 7d (ago)")
    report.add_argument("--until", help="end (default: now)")
    report.add_argument("--csv", type=Path, help="also write the table as CSV to this file")
    report.set_defaults(handler=_report)

    demo = sub.add_parser("demo", help="a scripted day and night on the local channel; no tokens, no network")
    demo.add_argument("--db", type=Path, help="keep the demo database here instead of a temporary file")
    demo.set_defaults(handler=_demo)

    add_commands(sub, _database_args, DEFAULT_CONFIG)  # backup, restore, forget, reload
    from bot.simulate.cli import register as register_simulate

    register_simulate(sub)
    return parser


def _global_options(parser: argparse.ArgumentParser) -> None:
    """Options before the command: how the process logs, and which release it is."""
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--log-format", default="text", choices=FORMATS,
                        help="text (default) or json: one object a line (time, level, logger, ticket, channel, event)")
    parser.add_argument("--version", action="version", version=f"dutydesk {_version()}")


def _deadletter_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`dutydesk deadletter list|show|retry`."""
    dead = sub.add_parser("deadletter", help="updates intake could not take and set aside: list, show, retry")
    dead_sub = dead.add_subparsers(required=True, metavar="ACTION")
    dead_list = dead_sub.add_parser("list", help="set-aside updates, newest first")
    _database_args(dead_list)
    dead_list.add_argument("--state", default="open", choices=["open", "retry", "done", "all"])
    dead_list.add_argument("--limit", type=int, default=50)
    dead_list.set_defaults(handler=_deadletter_list)
    for action, handler, text in (("show", _deadletter_show, "one: its error and raw payload"),
                                  ("retry", _deadletter_retry, "have the running desk take it again")):
        one = dead_sub.add_parser(action, help=text)
        _database_args(one)
        one.add_argument("id", type=int)
        one.set_defaults(handler=handler)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dutydesk")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _database_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="config whose [storage] url to read")
    parser.add_argument("--db", type=Path, help="a SQLite file, instead of --config")


def _storage_url(args: argparse.Namespace) -> str:
    if args.db is not None:
        if not args.db.exists():
            raise ConfigError(f"{args.db}: no such database")
        return f"sqlite:///{args.db.resolve()}"
    return load_config(args.config).storage.url


def _run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    problems = check_secrets(cfg)
    if problems:
        raise ConfigError(f"{args.config}: " + f"\n{args.config}: ".join(problems))
    for warning in literal_secrets(cfg):
        logging.getLogger("dutydesk").warning("%s: %s", args.config, warning)
    from bot.app.factory import build_adapters

    adapters = build_adapters(cfg)
    if not adapters:
        sections = ", ".join(f"[{d.name}]" for d in cfg.descriptors)
        print(f"dutydesk: {args.config}: no channel is enabled — set enabled = true in one of {sections}",
              file=sys.stderr)
        return 2
    return asyncio.run(_serve(cfg, lambda: build_adapters(cfg), args.config))


async def _serve(cfg: Config, build_adapters: Callable[[], dict[str, Adapter]], config: str | None = None) -> int:
    """Runs the desk (or, on PostgreSQL, stands by for it: bot/app/standby.py) until a signal;
    SIGHUP reloads `config` (bot/app/reload.py)."""
    from bot.app.standby import Runner, StartFailed
    from storage import AnotherRunner

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = Runner(cfg, build_adapters, stop, config)
    if config is not None:
        from bot.app.reload import reload_on_sighup

        reload_on_sighup(runner, config)
    try:
        # The database is claimed before anything touches it (no migration runs under a desk
        # that is already running on it, whichever path or link leads there).
        return await runner.run()
    except AnotherRunner as exc:
        print(f"dutydesk: another dutydesk is already running on this database ({_where(cfg.storage.url)}: {exc}); "
              "stop it first — two would send every message twice (on PostgreSQL a second desk waits as a standby)",
              file=sys.stderr)
        return 1
    except StartFailed as exc:
        print(f"dutydesk: could not start: {exc}", file=sys.stderr)
        return 1


def _check_config(args: argparse.Namespace) -> int:
    cfg = load_config(args.file)
    problems = check_secrets(cfg)
    for problem in problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    for warning in literal_secrets(cfg):
        print(f"{args.file}: warning: {warning}", file=sys.stderr)
    if problems:  # "OK" only when all is: a script reading stdout must not see it now
        print(f"{args.file}: not OK — {len(problems)} problem(s) above", file=sys.stderr)
        return 1
    channels = cfg.enabled_channels
    print(
        f"{args.file}: OK — {len(cfg.engineers)} engineers, {len(cfg.organisations)} organisations, "
        f"{len(cfg.plans)} plans, {len(cfg.calendars)} calendars, {len(cfg.shifts)} shifts; "
        f"channels enabled: {', '.join(channels) or 'none'}"
    )
    return 0


def _tickets_list(args: argparse.Namespace) -> int:
    from bot.app.readers import list_tickets

    url = _storage_url(args)
    for line in asyncio.run(
        list_tickets(url, status=args.status, assignee=args.assignee, customer=args.customer,
                     org=args.org, limit=args.limit)
    ):
        print(line)
    return 0


def _tickets_show(args: argparse.Namespace) -> int:
    from bot.app.readers import show_ticket

    return _shown(asyncio.run(show_ticket(_storage_url(args), args.ticket)), f"ticket {args.ticket}")


def _shown(lines: list[str] | None, missing: str) -> int:
    """Print a view, or say what is not there."""
    if lines is None:
        print(f"dutydesk: no {missing}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


def _deadletter_list(args: argparse.Namespace) -> int:
    from bot.app.readers import list_dead_letters

    for line in asyncio.run(list_dead_letters(_storage_url(args), state=args.state, limit=args.limit)):
        print(line)
    return 0


def _deadletter_show(args: argparse.Namespace) -> int:
    from bot.app.readers import show_dead_letter

    return _shown(asyncio.run(show_dead_letter(_storage_url(args), args.id)), f"dead letter {args.id}")


def _deadletter_retry(args: argparse.Namespace) -> int:
    from bot.app.readers import mark_for_retry

    marked, message = asyncio.run(mark_for_retry(_storage_url(args), args.id, datetime.now(UTC)))
    print(message if marked else f"dutydesk: {message}", file=sys.stdout if marked else sys.stderr)
    return 0 if marked else 1


def _explain(args: argparse.Namespace) -> int:
    from bot.app.explain import build_explainer, dumps, parse_at, run_jsonl

    explainer = build_explainer(load_config(args.config))
    now = datetime.now(UTC)
    if args.jsonl is not None:
        try:
            with args.jsonl.open(encoding="utf-8") as lines:
                for line in run_jsonl(explainer, lines, now):
                    print(line)
        except OSError as exc:
            raise ConfigError(f"{args.jsonl}: {exc.strerror or exc}") from None
        return 0
    try:
        at = parse_at(args.at) if args.at else None
        print(dumps(explainer.explain(args.text, args.sender, at, now), indent=2))
    except ValueError as exc:
        print(f"dutydesk explain: {exc}", file=sys.stderr)
        return 2
    return 0


def _report(args: argparse.Namespace) -> int:
    from bot.sla.report import Report, as_csv, as_table, sla_report
    from storage import open_store

    now = datetime.now(UTC)
    since = _instant(args.since, now)
    until = _instant(args.until, now) if args.until else now

    async def build() -> Report:
        store = await open_store(_storage_url(args))
        try:
            return await sla_report(store, since, until, now)
        finally:
            await store.close()

    report = asyncio.run(build())
    print(as_table(report))
    if args.csv is not None:
        args.csv.write_text(as_csv(report), encoding="utf-8")
        print(f"CSV written to {args.csv}")
    return 0


def _instant(text: str, now: datetime) -> datetime:
    """A date (midnight UTC), an ISO date-time with offset, or a duration ago ("7d")."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f'"{text}" is not a date, a date-time or a duration like 7d') from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _demo(args: argparse.Namespace) -> int:
    from bot.app.demo import run_demo

    logging.getLogger().setLevel(logging.WARNING)
    return asyncio.run(run_demo(keep=args.db))


if __name__ == "__main__":
    raise SystemExit(main())
