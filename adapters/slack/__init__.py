"""Slack: customers in DMs with the app and in shared channels, engineers in the triage
channel's threads (one per ticket).

Modules: `translate` (Slack payloads → desk types), `listeners` (the Bolt wiring), `send`
(desk → Web API), `blocks` (mrkdwn and buttons), `profiles` (who wrote: users.info,
cached), `modes` (HTTP endpoint, Socket Mode), `startup` (the triage channel check),
`channel` (the adapter the app runs).
"""

from adapters.slack.channel import SlackChannel

__all__ = ["SlackChannel"]
