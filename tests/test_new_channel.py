"""A channel is a plugin: one defined here, with no edit under bot/, carries a ticket.

"Pigeon" is a made-up messenger modelled on adapters/local.py: its own `[pigeon]` section
(a staff loft where each ticket gets a thread, a secret key from the environment), its own
adapter, its own descriptor. Added to the registry's list, it is validated, checked for
secrets, explained, built and run by the app like the channels dutydesk ships with.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app.config import Config, ConfigError, check_secrets, literal_secrets, parse_config
from bot.app.explain import build_explainer
from bot.app.factory import App
from bot.app.fields import ChannelSettings, Secret
from bot.app.http import HttpServer
from bot.app.registry import CHANNELS
from bot.core.clock import ManualClock
from bot.core.desk import Desk
from bot.core.domain import ConversationRef, Inbound, Sender
from bot.delivery.channel import ChannelBase
from bot.delivery.contract import Audience, DeliveryResult, Lane, Outbound, Pace, Recipient
from bot.delivery.descriptor import ChannelDescriptor
from bot.flows.customer import Receipt
from routing.language import LanguageDetector

from .channel_contract import check_channel_contract, check_stopped_channel_refuses
from .conftest import TUESDAY_11
from .conftest import Desk as LocalDesk

PIGEON = "pigeon"
KEY_ENV = "PIGEON_TEST_KEY"


class PigeonConfig(ChannelSettings):
    """`[pigeon]`: the staff loft (one thread per ticket) and the key the birds carry."""

    loft: str | None = None
    key: Secret = Secret(f"env:{KEY_ENV}")
    birds_per_second: float = 5.0


@dataclass(frozen=True)
class Flight:
    message: Outbound
    thread_id: str | None


class PigeonChannel(ChannelBase):
    """Delivers into `flights`; people write through `say`, as on the local channel."""

    name = PIGEON

    def __init__(self, cfg: PigeonConfig) -> None:
        super().__init__()
        self.per_second = cfg.birds_per_second
        self.key = cfg.key.reveal()
        self.flights: list[Flight] = []
        self._desk: Desk | None = None
        self._ids = itertools.count(1)

    def lane(self, recipient: Recipient) -> Lane:
        return Lane(f"{PIGEON}:{recipient.chat_id}", per_second=self.per_second)

    async def _send(self, message: Outbound, pace: Pace) -> DeliveryResult:
        thread = message.recipient.thread_id
        created = None
        if message.recipient.audience == Audience.STAFF_ROOM and thread is None:
            thread = created = f"perch-{next(self._ids)}"
        self.flights.append(Flight(message, thread))
        header = f"p{next(self._ids)}" if message.kind == "header" and message.header_id is None else None
        return DeliveryResult(message_id=header or f"p{next(self._ids)}", thread_id=created, header_id=header)

    async def _connect(self, desk: Desk, http: HttpServer | None) -> None:
        self._desk = desk
        self.running = True

    async def _disconnect(self) -> None:
        self._desk = None

    def to(self, chat_id: str) -> list[Flight]:
        return [f for f in self.flights if f.message.recipient.chat_id == chat_id]

    async def say(self, user: str, text: str, *, chat: str | None = None, thread: str | None = None) -> Receipt:
        assert self._desk is not None, "the pigeon channel is not running"
        return await self._desk.receive(Inbound(
            conversation=ConversationRef(PIGEON, chat or user, thread), sender=Sender(f"{PIGEON}:{user}", user),
            text=text, message_id=f"u{next(self._ids)}", at=self._desk.clock.now(), private=chat is None,
        ))


PIGEON_CHANNEL = ChannelDescriptor(
    name=PIGEON,
    settings=PigeonConfig,
    build=PigeonChannel,
    identity_example=f"{PIGEON}:coo",
    staff_room=lambda section: section.loft,
    secrets=lambda section: [("key", section.key)],
)
WITH_PIGEONS = (*CHANNELS, PIGEON_CHANNEL)

ROSTER: dict[str, Any] = {
    "desk": {"timezone": "Europe/Moscow", "languages": ["en", "ru"]},
    "shifts": {"always": {"timezone": "Europe/Moscow", "hours": {"mon-sun": "00:00-24:00"}}},
    "engineers": [{"id": "ana", "name": "Ana Lind", "languages": ["en"], "timezone": "Europe/Moscow",
                   "shift": "always", "identities": ["pigeon:ana"]}],
    "organisations": [{"id": "acme", "name": "ACME", "plan": "basic", "members": ["pigeon:bob"]}],
    "pigeon": {"enabled": True, "loft": "loft"},
}


def pigeon_config(tmp_path: Path, **sections: Any) -> Config:
    raw = {**ROSTER, "storage": {"url": f"sqlite:///{tmp_path / 'pigeon.db'}"}, **sections}
    return parse_config(raw, channels=WITH_PIGEONS)


@pytest.fixture
async def pigeon_app(
    tmp_path: Path, detector: LanguageDetector, monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[App]:
    monkeypatch.setenv(KEY_ENV, "seed")
    app = await App.create(pigeon_config(tmp_path), clock=ManualClock(TUESDAY_11), detector=detector,
                           serve_http=False)
    for adapter in app.adapters.values():
        await adapter.start(app.desk, None)
    yield app
    for adapter in app.adapters.values():
        await adapter.stop()
    await app.store.close()


async def test_a_ticket_travels_by_pigeon(pigeon_app: App) -> None:
    app = pigeon_app
    assert list(app.adapters) == [PIGEON]  # built by its descriptor: the only channel enabled
    pigeons = app.adapters[PIGEON]
    assert isinstance(pigeons, PigeonChannel) and pigeons.key == "seed"

    receipt = await pigeons.say("bob", "Hello, our VPN stopped working this morning, please help")
    assert receipt.ticket_id is not None
    await app.dispatcher.flush()
    ticket = await app.store.ticket(receipt.ticket_id)
    assert ticket is not None and ticket["assignee"] == "ana" and ticket["org_id"] == "acme"
    header = next(f for f in pigeons.to("loft") if f.message.kind == "header")  # the descriptor's staff room
    assert header.thread_id is not None and header.message.ticket_id == receipt.ticket_id
    answered_before = len(pigeons.to("bob"))

    answer = "Restart the client, please: the certificate was renewed tonight."
    reply = await pigeons.say("ana", answer, chat="loft", thread=header.thread_id)
    assert reply.ticket_id == receipt.ticket_id
    await app.dispatcher.flush()

    to_bob = [f.message for f in pigeons.to("bob")[answered_before:]]
    assert [m.kind for m in to_bob] == ["reply"]
    assert answer in to_bob[0].text and to_bob[0].recipient.audience == Audience.CUSTOMER


def test_the_section_is_validated_by_the_channel_model(tmp_path: Path) -> None:
    cfg = pigeon_config(tmp_path)
    assert isinstance(cfg.channels[PIGEON], PigeonConfig) and cfg.enabled_channels == [PIGEON]
    with pytest.raises(ConfigError, match=r"config: pigeon\.wings: unknown key"):
        pigeon_config(tmp_path, pigeon={"enabled": True, "wings": 2})
    with pytest.raises(ConfigError, match=r"pigeon: unknown key"):  # without the plugin, no such section
        parse_config({"pigeon": {"enabled": True}})


def test_its_secrets_are_checked_and_its_identities_explained(tmp_path: Path) -> None:
    cfg = pigeon_config(tmp_path)
    assert check_secrets(cfg, {}) == [f"pigeon.key: environment variable {KEY_ENV} is not set"]
    assert check_secrets(cfg, {KEY_ENV: "seed"}) == []
    literal = pigeon_config(tmp_path, pigeon={"enabled": True, "key": "written-in-the-file"})
    assert [line.split(":")[0] for line in literal_secrets(literal)] == ["pigeon.key"]

    explainer = build_explainer(cfg)
    result = explainer.explain("VPN down", "pigeon:bob", None, TUESDAY_11)
    assert result["sender"]["organisation"] == {"id": "acme", "name": "ACME"}
    with pytest.raises(ValueError, match="pigeon:coo"):
        explainer.explain("VPN down", "bob", None, TUESDAY_11)


async def test_it_keeps_the_channel_contract(pigeon_app: App) -> None:
    pigeons = pigeon_app.adapters[PIGEON]
    await check_channel_contract(pigeons, staff_room="loft", private_chat="bob")
    await check_stopped_channel_refuses(pigeons, private_chat="bob")


async def test_the_local_channel_template_keeps_it_too(desk: LocalDesk) -> None:
    await check_channel_contract(desk.local, staff_room="staff", private_chat="200001")
    await check_stopped_channel_refuses(desk.local, private_chat="200001")
