"""What the desk, the dispatcher and the scheduler report as they work, for metrics.

A small interface, so that the code doing the work imports no metrics library: the
composition root hands in `bot/app/metrics.py`'s Prometheus implementation, tests and the
demo the no-op one. Counts and durations only — what is *in* the database (open tickets,
pending outbox, dead letters) is read from the store when metrics are scraped.
"""

from __future__ import annotations


class Telemetry:
    """One method per happening. Each does nothing here, so `NoTelemetry` is this class as it
    stands; a reporting implementation (`bot/app/metrics.py`) overrides every one."""

    def message_in(self, channel: str, lag_s: float) -> None:
        """An inbound message reached the desk, `lag_s` after the platform says it was sent."""

    def decided(self, seconds: float) -> None:
        """The desk took one inbound message: decided and committed (or found a duplicate)."""

    def message_out(self, channel: str) -> None:
        """The platform took an outbound message."""

    def delivery_retry(self, channel: str) -> None:
        """An attempt failed and will be retried."""

    def delivery_failed(self, channel: str) -> None:
        """A message was given up (the platform refuses it, or every attempt failed)."""

    def rate_limited(self, channel: str) -> None:
        """The platform asked to wait (HTTP 429, Telegram's retry_after, Slack's Retry-After)."""

    def scheduler_late(self, seconds: float) -> None:
        """A deadline wake-up ran `seconds` after the instant it was armed for."""


class NoTelemetry(Telemetry):
    """Reports nowhere (tests, the demo, the CLI's read-only commands)."""
