"""Who is who: engineers, leads and customer organisations, looked up by chat identity.

Built once from the configuration. Identities are `channel:user_id` (`telegram:12345`,
`slack:U024BE7LH`); a customer is recognised by their own identity or by the group chat /
shared channel of their organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.app.config import Config, EngineerConfig, OrganisationConfig
from bot.core.domain import ConversationRef


class Role(StrEnum):
    UNKNOWN = "unknown"  # not in the configuration: still a customer, on the default plan
    CUSTOMER = "customer"
    ENGINEER = "engineer"
    LEAD = "lead"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.ENGINEER, Role.LEAD, Role.ADMIN})
LEAD_ROLES = frozenset({Role.LEAD, Role.ADMIN})


@dataclass(frozen=True)
class StaffRoom:
    """A chat where every ticket gets its own thread (Telegram forum, Slack triage channel):
    each channel's descriptor says which chat it is."""

    channel: str
    chat_id: str


class Directory:
    def __init__(self, cfg: Config, channels: frozenset[str]) -> None:
        self.channels = channels
        self._engineers = {e.id: e for e in cfg.engineers}
        self._by_identity = {i: e for e in cfg.engineers for i in e.identities}
        self._org_by_member = {m: o for o in cfg.organisations for m in o.members}
        self._org_by_chat = {c: o for o in cfg.organisations for c in o.chats}
        self._orgs = {o.id: o for o in cfg.organisations}
        running = [d for d in cfg.descriptors if d.name in channels]
        rooms = ((d.name, d.room(cfg.channels[d.name])) for d in running)
        self.staff_rooms = tuple(StaffRoom(name, chat_id) for name, chat_id in rooms if chat_id)
        # How each channel writes a mention of a person, when it has such a form.
        self._mentions = [(d.name, d.mention) for d in cfg.descriptors if d.mention is not None]
        # Identities as people write them on the running channels, for help texts.
        self.identity_examples = ", ".join(d.identity_example for d in running) or "channel:id"

    def engineer(self, engineer_id: str | None) -> EngineerConfig | None:
        return None if engineer_id is None else self._engineers.get(engineer_id)

    def engineers(self) -> list[EngineerConfig]:
        return list(self._engineers.values())

    def engineer_by_identity(self, identity: str) -> EngineerConfig | None:
        return self._by_identity.get(identity)

    def organisation(self, org_id: str | None) -> OrganisationConfig | None:
        return None if org_id is None else self._orgs.get(org_id)

    def find_organisation(self, what: str) -> OrganisationConfig | None:
        """What a lead typed: an organisation's id or name, any case ("acme", "ACME Corp")."""
        lowered = what.strip().casefold()
        return self._orgs.get(what.strip()) or next(
            (o for o in self._orgs.values() if lowered in (o.id.casefold(), o.name.casefold())), None
        )

    def organisation_of(self, identity: str, conversation: ConversationRef) -> OrganisationConfig | None:
        return self._org_by_member.get(identity) or self._org_by_chat.get(
            f"{conversation.channel}:{conversation.chat_id}"
        )

    def role(self, identity: str) -> Role:
        engineer = self._by_identity.get(identity)
        if engineer is not None:
            return Role(engineer.role)
        return Role.CUSTOMER if identity in self._org_by_member else Role.UNKNOWN

    def leads(self) -> list[EngineerConfig]:
        return [e for e in self._engineers.values() if e.role in LEAD_ROLES]

    def staff_room(self, channel: str, chat_id: str) -> StaffRoom | None:
        for room in self.staff_rooms:
            if room.channel == channel and room.chat_id == chat_id:
                return room
        return None

    def contact(self, engineer: EngineerConfig) -> tuple[str, str] | None:
        """The (channel, user id) to reach an engineer privately: their first identity on an
        enabled channel."""
        for identity in engineer.identities:
            channel, _, user = identity.partition(":")
            if channel in self.channels:
                return channel, user
        return None

    def has_staff_room(self, channel: str) -> bool:
        return any(room.channel == channel for room in self.staff_rooms)

    def find_engineer(self, who: str) -> EngineerConfig | None:
        """Resolve what a lead typed: an engineer id, `@id`, a channel's mention of them
        (Slack's `<@U123|name>`), a chat identity, or a first name when it is unique."""
        token = who.strip()
        for channel, mention in self._mentions:
            found = mention.fullmatch(token)
            if found:
                return self._by_identity.get(f"{channel}:{found.group(1)}")
        token = token.lstrip("@")
        if token in self._engineers:
            return self._engineers[token]
        if ":" in token:
            return self._by_identity.get(token)
        by_user = [e for i, e in self._by_identity.items() if i.partition(":")[2] == token]
        if len(by_user) == 1:
            return by_user[0]
        lowered = token.casefold()
        by_name = [e for e in self._engineers.values() if e.name.split()[0].casefold() == lowered]
        return by_name[0] if len(by_name) == 1 else None
