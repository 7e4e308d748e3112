"""Slack: customers in DMs with the app and in shared channels, engineers in the triage
channel's threads (one per ticket).

Modules: `config` (the `[slack]` section), `translate` (Slack payloads → desk types),
`listeners` (the Bolt wiring), `send` (desk → Web API), `blocks` (mrkdwn and buttons),
`profiles` (who wrote: users.info, cached), `modes` (HTTP endpoint, Socket Mode),
`startup` (the triage channel check), `channel` (the adapter the app runs). `CHANNEL` is
what the composition root lists.
"""

import re

from adapters.slack.config import NAME, SlackConfig
from bot.delivery.contract import Adapter
from bot.delivery.descriptor import platform_channel


def _build(section: SlackConfig) -> Adapter:
    """Bolt is imported only for a desk that runs Slack."""
    from adapters.slack.channel import SlackChannel

    return SlackChannel(section)


CHANNEL = platform_channel(
    NAME, SlackConfig, _build, user_example="U024BE7LH",
    # What Slack puts in a message for "@ana": `<@U024BE7LH|ana>`, the name optional.
    mention=re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>"),
)
