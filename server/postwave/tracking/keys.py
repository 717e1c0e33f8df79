"""The tracking key ring: the key that signs new tokens and the retired ones still accepted."""

from __future__ import annotations

from postwave.config import Config


def signing_key(config: Config) -> tuple[str, bytes]:
    """(key id, secret) that signs the tokens of new mail."""
    return config.tracking_key_id, config.tracking_secret.encode("utf-8")


def key_ring(config: Config) -> dict[str, bytes]:
    """Every key the tracker accepts, by id: the current one and tracking_previous_keys."""
    ring: dict[str, bytes] = {}
    for pair in filter(None, (p.strip() for p in config.tracking_previous_keys.split(","))):
        key_id, _, secret = pair.partition(":")
        ring[key_id] = secret.encode("utf-8")
    if config.tracking_secret:
        ring[config.tracking_key_id] = config.tracking_secret.encode("utf-8")
    return ring
