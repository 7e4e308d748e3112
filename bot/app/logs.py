"""How the process logs: readable text (the default) or one JSON object a line.

JSON is for log collectors (Loki, Elasticsearch, journald with a JSON parser): every line
carries the same keys — time (UTC, ISO 8601), level, logger, message, and the ticket,
channel and event the line is about (null when it is about none; code that logs about a
ticket passes them with `extra=`, see `about`). python-json-logger does the encoding; the
secrets the desk read from the environment are blanked out of either format
(`bot/app/redact.py`).
"""

from __future__ import annotations

import logging
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

from bot.app.redact import RedactingFormatter, redact_logs

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
# The fields a line may be about, passed with `extra=` (see `about`).
CONTEXT = ("ticket", "channel", "event")


class ContextDefaults(logging.Filter):
    """Gives every record the context fields, None where the caller passed none, so a JSON
    line always has the same keys."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in CONTEXT:
            if not hasattr(record, name):
                setattr(record, name, None)
        return True


def about(ticket: int | None = None, channel: str | None = None, event: str | None = None) -> dict[str, Any]:
    """`extra=` for a log call about a ticket: `log.info("...", extra=about(ticket=1042))`."""
    return {"ticket": ticket, "channel": channel, "event": event}


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{levelname}{name}{message}{ticket}{channel}{event}", style="{",
        rename_fields={"levelname": "level", "name": "logger"}, timestamp="time", json_ensure_ascii=False,
    )


def build_handler(fmt: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing `fmt` lines to `stream` (default: stderr), secrets blanked out."""
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: use one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(stream)
    inner = json_formatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(RedactingFormatter(inner))
    handler.addFilter(ContextDefaults())
    return handler


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    """The root logger's handler on stderr, in `fmt` (`dutydesk --log-format`). Like
    `logging.basicConfig`, it leaves a root logger that already has handlers (a host
    program's, a test runner's) as it is, but for the level — and makes those redact too."""
    root = logging.getLogger()
    root.setLevel(getattr(logging, level.upper()))
    if not root.handlers:
        root.addHandler(build_handler(fmt))
    redact_logs(root)  # no secret the desk reads reaches a log line
