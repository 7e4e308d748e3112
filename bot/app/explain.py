"""`dutydesk explain`: a dry run of routing, for team leads testing their roster.

Given a message, who sent it and when, it answers what the desk would do: the language and
priority it would detect, who would get the ticket (or when it would be picked up from the
queue), every reason, and the SLA deadlines the ticket would get — in UTC and in the
customer's time zone, with the calendar each clock counts on.

The same code decides as in production: the message goes through the desk's `Directory`,
`Triage` and `SlaBook`, and a hypothetical `Ticket` is built the way `bot.flows.customer` opens one.
It is a dry run: nothing is stored, every engineer's load is empty, and only the overrides
in the config file count (not those leads added at run time).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.config import Config, OrganisationConfig
from bot.core.directory import Directory
from bot.core.domain import ClockState, ConversationRef, Status, Ticket
from bot.core.triage import Triage
from bot.flows.customer import clean_text, kind_of, subject_of
from bot.sla.clocks import BREACH, FIRST_RESPONSE, RESOLUTION, UPDATE, Deadline, SlaBook, build_calendars
from routing.assign import Assignment, Decision, language_name
from routing.calendar import BusinessCalendar
from routing.durations import format_duration
from routing.language import LanguageDetector
from routing.priority import Priority

_DRY_RUN_ID = 0
_NO_TEXT = "(no text)"
_SCHEDULE_MEMO = 4096

# First response, resolution, progress update: each clock's deadlines (warnings, then breach).
_Clocks = tuple[tuple[Deadline, ...], tuple[Deadline, ...], tuple[Deadline, ...]]


def parse_at(text: str) -> datetime:
    """Read `--at` (or a jsonl line's `at`): ISO 8601 with a UTC offset, e.g.
    2026-03-08T23:10+03:00 or 2026-03-08T20:10Z. Without an offset the instant would be a
    guess, so it is refused."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f'"{text}" is not a date and time like 2026-03-08T23:10+03:00') from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f'"{text}" has no UTC offset; write it like 2026-03-08T23:10+03:00')
    return at


def parse_sender(sender: str, like: str = "channel:id") -> tuple[str, str]:
    """`telegram:12345` -> ("telegram", "12345"); `like` shows a good one in the error."""
    channel, sep, user = sender.strip().partition(":")
    if not sep or not channel or not user:
        raise ValueError(f'"{sender}" is not a chat identity like {like}')
    return channel, user



def _arrival(at: datetime | None, now: datetime) -> datetime:
    """When the message arrives, in UTC: `at` as given (it must say its offset), else now."""
    when = now if at is None else at
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when.isoformat()} has no UTC offset; write it like 2026-03-08T23:10+03:00")
    return when.astimezone(UTC)


@dataclass(frozen=True)
class Explainer:
    """The desk's routing pieces, built once; `explain` is then cheap enough for bulk runs."""

    cfg: Config
    directory: Directory
    sla: SlaBook
    triage: Triage
    _hours: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _schedules: dict[tuple[str, Priority, str, datetime], tuple[tuple[Deadline, ...], tuple[Deadline, ...]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def explain(self, text: str, sender: str | None, at: datetime | None, now: datetime) -> dict[str, Any]:
        """What the desk would do with `text` from `sender` arriving at `at` (default: `now`)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, not {type(text).__name__}")
        when = _arrival(at, now)
        identity, conversation = self._conversation(sender)
        org = self.directory.organisation_of(identity, conversation) if sender is not None else None
        plan = org.plan if org else self.cfg.desk.default_plan
        customer_tz = org.timezone if org else self.cfg.desk.timezone
        tz = ZoneInfo(customer_tz)

        # As bot.flows.customer._open_ticket does it: detect on the raw text, decide priority on the clean one.
        language = self.triage.language(text, platform=None, org=org)
        clean = clean_text(text, self.cfg.desk.max_text, language.language)
        priority = self.triage.priority(clean, chosen=None, plan=plan)
        ticket = Ticket(
            id=_DRY_RUN_ID, status=Status.NEW, priority=priority.priority, priority_reason=priority.reason,
            kind=kind_of(clean, priority.priority), language=language.language,
            subject=subject_of(clean, _NO_TEXT), customer=identity, customer_name="",
            org_id=org.id if org else None, plan=plan, customer_tz=customer_tz, conversation=conversation,
            created_at=when, updated_at=when, last_customer_at=when, clock=ClockState(running_since=when),
        )
        decision = self.triage.assign(ticket, {}, when)  # a dry run: nobody has open tickets
        _apply(ticket, decision, when)

        whose = _whose(org, plan, sender)
        return {
            "at": _instant(when, tz),
            "sender": {
                "identity": sender,
                "organisation": {"id": org.id, "name": org.name} if org else None,
                "plan": plan,
                "plan_description": self.sla.plan(plan).description,
                "coverage": self._describe(self.sla.coverage(plan, customer_tz, org.id if org else None)),
                "timezone": customer_tz,
            },
            "language": {"code": language.language, "name": language_name(language.language),
                         "confidence": round(language.confidence, 3), "source": language.source,
                         "reason": language.reason},
            "priority": {"priority": priority.priority.name, "label": priority.priority.label,
                         "source": priority.source, "reason": priority.reason, "matched": priority.matched},
            "kind": ticket.kind.value,
            "subject": ticket.subject,
            "decision": self._decision(decision, tz),
            "reasons": [
                whose,
                f"language: {language.reason}",
                f"priority: {priority.reason}",
                *map(str, decision.reasons),
            ],
            "deadlines": self._deadlines(ticket, when, tz),
        }

    # -- helpers ------------------------------------------------------------------------

    @property
    def identities(self) -> str:
        """Sender identities as the config's channels write them, for error texts."""
        return ", ".join(d.identity_example for d in self.cfg.descriptors) or "channel:id"

    def _describe(self, calendar: BusinessCalendar) -> str:
        """Calendars' descriptions never change; in bulk runs they are worth keeping."""
        text = self._hours.get(calendar.name)
        if text is None:
            text = self._hours[calendar.name] = calendar.describe()
        return text

    def _conversation(self, sender: str | None) -> tuple[str, ConversationRef]:
        if sender is None:
            return "unknown", ConversationRef("explain", "unknown")
        channel, user = parse_sender(sender, self.identities)
        # A private chat with the bot: the chat id is the user id on both platforms.
        return f"{channel}:{user}", ConversationRef(channel, user)

    def _decision(self, decision: Decision, tz: ZoneInfo) -> dict[str, Any]:
        if isinstance(decision, Assignment):
            engineer = self.directory.engineer(decision.engineer)
            return {
                "outcome": "assigned",
                "engineer": {
                    "id": decision.engineer,
                    "name": engineer.name if engineer else decision.engineer,
                    "timezone": engineer.timezone if engineer else None,
                },
                "tier": decision.tier,
                "follow_the_sun": decision.follow_the_sun,
                "flags": [str(flag) for flag in decision.flags],
            }
        return {
            "outcome": "queued",
            "pickup_at": _instant(decision.pickup_at, tz),
            "tier": decision.tier,
            "alert_lead": decision.alert_lead,
        }

    def _deadlines(self, ticket: Ticket, at: datetime, tz: ZoneInfo) -> dict[str, Any]:
        targets = self.sla.targets(ticket.plan, ticket.priority)
        calendar = self.sla.calendar(ticket)
        first, resolution, updates = self._schedule(ticket, at, calendar)
        return {
            FIRST_RESPONSE: self._clock(
                first, targets.first_response, calendar, tz, "counts from the request",
            ),
            RESOLUTION: self._clock(
                resolution, targets.resolution, calendar, tz,
                "counts from the request; paused while waiting on the customer",
            ),
            UPDATE: self._clock(
                updates, targets.update_every, targets.update_calendar, tz,
                "counts from the customer's last message from the desk (acknowledgement, answer or "
                "update); a reminder goes to the assignee before it",
            ),
        }

    def _schedule(self, ticket: Ticket, at: datetime, calendar: BusinessCalendar) -> _Clocks:
        """The SLA book's deadlines for the new ticket, and its first progress update.

        Working time counts from the next opening, so every request of a plan and priority
        made while its calendar is closed (a night, a weekend) gets the same first-response
        and resolution deadlines: in bulk runs they are computed once per opening instead of
        once per line. The update clock counts from the acknowledgement, sent at once.
        """
        updates = tuple(self.sla.updates(replace(ticket, last_update_at=at), at))
        key = None
        if calendar.hours is not None:
            key = (ticket.plan, ticket.priority, calendar.name, calendar.next_open(at))
            known = self._schedules.get(key)
            if known is not None:
                return (*known, updates)
        clocks = self.sla.schedule(ticket, at)
        found = (tuple(clocks[FIRST_RESPONSE]), tuple(clocks[RESOLUTION]))
        if key is not None:
            if len(self._schedules) >= _SCHEDULE_MEMO:
                self._schedules.clear()
            self._schedules[key] = found
        return (*found, updates)

    def _clock(
        self, deadlines: Sequence[Deadline], target: timedelta, calendar: BusinessCalendar, tz: ZoneInfo, counts: str,
    ) -> dict[str, Any]:
        breach = _breach(deadlines)
        return {
            "target": _target(target, calendar),
            "due": _instant(breach.target_at, tz) if breach else None,
            "warnings": [
                {"stage": d.stage, **_instant(d.due_at, tz)} for d in deadlines if d.stage != BREACH
            ],
            "calendar": calendar.name,
            "calendar_hours": self._describe(calendar),
            "counts": counts,
        }


def build_explainer(cfg: Config, detector: LanguageDetector | None = None) -> Explainer:
    """Build the routing once (language models take about a second to load)."""
    directory = Directory(cfg, frozenset(cfg.enabled_channels))
    sla = SlaBook(cfg, build_calendars(cfg))
    return Explainer(cfg, directory, sla, Triage(cfg, directory, sla, detector))


def run_jsonl(explainer: Explainer, lines: Iterable[str], now: datetime) -> Iterator[str]:
    """One JSON object per input line: {"text": ..., "from": ..., "at": ...} (`from` and `at`
    optional). Yields one JSON result per line, numbered from 1; a bad line yields
    {"line": n, "error": "..."} and the run goes on. Blank lines are skipped."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            result = _explain_line(explainer, line, now)
        except (ValueError, TypeError) as exc:
            yield dumps({"line": number, "error": str(exc)})
            continue
        yield dumps({"line": number, **result})


def dumps(result: dict[str, Any], indent: int | None = None) -> str:
    """JSON as printed: non-ASCII kept readable (Cyrillic reasons stay Cyrillic)."""
    return json.dumps(result, ensure_ascii=False, indent=indent)


def _explain_line(explainer: Explainer, line: str, now: datetime) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(item, dict):
        raise ValueError(f"expected a JSON object, got {type(item).__name__}")
    unknown = sorted(set(item) - {"text", "from", "at"})
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)} (fields: text, from, at)")
    text = item.get("text")
    if not isinstance(text, str):
        raise ValueError('"text" is missing or not a string')
    sender = item.get("from")
    if sender is not None and not isinstance(sender, str):
        raise ValueError(f'"from" must be a string like {explainer.identities}')
    at = item.get("at")
    if at is not None and not isinstance(at, str):
        raise ValueError('"at" must be a string like 2026-03-08T23:10+03:00')
    return explainer.explain(text, sender, parse_at(at) if at is not None else None, now)


def _apply(ticket: Ticket, decision: Decision, at: datetime) -> None:
    """What actions.apply_decision does to the ticket itself (no events, no messages)."""
    if isinstance(decision, Assignment):
        ticket.assignee = decision.engineer
        ticket.assigned_at = at
        ticket.status = Status.ASSIGNED
    else:
        ticket.pickup_at = decision.pickup_at
    ticket.tier = decision.tier


def _whose(org: OrganisationConfig | None, plan: str, sender: str | None) -> str:
    if org is not None:
        return f"sender: organisation {org.name}, plan {plan}"
    if sender is None:
        return f"sender: not given: default plan {plan}"
    return f"sender: {sender} belongs to no organisation: default plan {plan}"


def _breach(deadlines: Sequence[Deadline]) -> Deadline | None:
    return next((d for d in deadlines if d.stage == BREACH), None)


def _target(amount: timedelta, calendar: BusinessCalendar) -> str:
    """Working time reads in hours ("40 working hours" is not "1d 16h"); 24/7 time as written."""
    if calendar.hours is None:
        return format_duration(amount)
    hours, rest = divmod(amount, timedelta(hours=1))
    text = f"{hours}h {format_duration(rest)}" if rest else f"{hours}h"
    return f"{text} of working time"


def _instant(at: datetime, tz: ZoneInfo) -> dict[str, str]:
    return {
        "utc": at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "local": at.astimezone(tz).isoformat(timespec="seconds"),
        "timezone": str(tz),
    }
