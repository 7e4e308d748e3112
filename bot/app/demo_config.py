"""The example roster, moved onto the local channel: what the demo and the tests run on.

Every identity and chat of a channel whose descriptor asks for it (`twin_in_demo`: the
messenger the example roster is written for) gets a `local:` twin, the local channel is
switched on with a staff room, and every other channel is switched off, so the real
pipeline runs with no tokens and no network.
"""

from __future__ import annotations

from bot.app.config import Config, StorageConfig

LOCAL = "local"


def on_local_channel(cfg: Config, storage_url: str, *, staff_room: str | None = "staff") -> Config:
    twinned = tuple(f"{d.name}:" for d in cfg.descriptors if d.twin_in_demo)

    def twin(identities: list[str]) -> list[str]:
        return identities + [f"{LOCAL}:{i.split(':', 1)[1]}" for i in identities if i.startswith(twinned)]

    channels = {name: type(section)() for name, section in cfg.channels.items()}  # all off
    channels[LOCAL] = type(channels[LOCAL]).model_validate({"enabled": True, "staff_room": staff_room})
    return cfg.model_copy(
        update={
            "storage": StorageConfig(url=storage_url),
            **channels,
            "engineers": [e.model_copy(update={"identities": twin(e.identities)}) for e in cfg.engineers],
            "organisations": [
                o.model_copy(update={"members": twin(o.members), "chats": twin(o.chats)})
                for o in cfg.organisations
            ],
        }
    )
