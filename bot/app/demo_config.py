"""The example roster, moved onto the local channel: what the demo and the tests run on.

Every `telegram:N` identity and chat in the config gets a `local:N` twin, the local channel
is switched on with a staff room, and the messengers are switched off, so the real pipeline
runs with no tokens and no network.
"""

from __future__ import annotations

from bot.app.config import Config, LocalConfig, SlackConfig, StorageConfig, TelegramConfig


def on_local_channel(cfg: Config, storage_url: str, *, staff_room: str | None = "staff") -> Config:
    def twin(identities: list[str]) -> list[str]:
        return identities + [f"local:{i.split(':', 1)[1]}" for i in identities if i.startswith("telegram:")]

    return cfg.model_copy(
        update={
            "storage": StorageConfig(url=storage_url),
            "local": LocalConfig(enabled=True, staff_room=staff_room),
            "telegram": TelegramConfig(enabled=False),
            "slack": SlackConfig(enabled=False),
            "engineers": [e.model_copy(update={"identities": twin(e.identities)}) for e in cfg.engineers],
            "organisations": [
                o.model_copy(update={"members": twin(o.members), "chats": twin(o.chats)})
                for o in cfg.organisations
            ],
        }
    )
