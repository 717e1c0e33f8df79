"""What the delivery stage needs from sending domains: the DKIM keys of the From domain's
active selectors, and the message's VERP return path on the domain's bounce domain.

Looked up per From domain and cached for ``CACHE_SECONDS`` in each worker, so a rotation
reaches every worker within that time and the hot path reads the store once per domain per
interval. Decrypting keys needs the master key; when it cannot be had (missing in cql mode,
wrong key) the lookup raises a temporary DeliveryError, so the message waits for the
operator's fix instead of leaving unsigned.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from postwave.config import Config
from postwave.domains import keys, masterkey
from postwave.domains.policy import candidates
from postwave.errors import DeliveryError, MasterKeyError
from postwave.feedback.verp import Verp
from postwave.lookups import Lookups
from postwave.render.addresses import domain_of, parse_address
from postwave.render.dkim import DkimKey
from postwave.store.base import Store

log = logging.getLogger(__name__)

CACHE_SECONDS = 30.0

Load = Callable[..., Awaitable[Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class DomainSigning:
    """How mail from one registered domain is signed and bounced."""

    domain: str
    keys: tuple[DkimKey, ...]  # the active selectors (RSA and Ed25519: dual signatures)
    return_path: str  # the bounce domain of VERP envelopes


class DomainSigner:
    """Per-worker cache of the signing setup of From domains."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self._cache: Lookups[str, DomainSigning | None] = Lookups(CACHE_SECONDS)
        self._verp: Verp | None = None

    async def lookup(self, from_header: str, load: Load) -> DomainSigning | None:
        """The signing setup of the From domain (or the registered parent), None if unregistered.

        Raises:
            DeliveryError: (temporary) the domain's keys cannot be decrypted.
        """
        from_domain = domain_of(parse_address(from_header, field="from")[1])
        return await self._cache.get(from_domain, lambda: self._fetch(from_domain, load))

    def return_path(self, message_id: str, signing: DomainSigning | None) -> str | None:
        """The VERP envelope sender of a message from a registered domain, else None."""
        if signing is None or self._verp is None:
            return None
        return self._verp.address(message_id, signing.return_path)

    async def _fetch(self, from_domain: str, load: Load) -> DomainSigning | None:
        for name in candidates(from_domain):
            domain = await load(self.store.get_domain, name)
            if domain is None:
                continue
            selectors = await load(self.store.list_selectors, name)
            active = [s for s in selectors if s.state == "active"]
            try:
                box = masterkey.load(self.config)
                self._verp = self._verp or Verp(box)
                signing_keys = tuple(keys.signing_key(s, box) for s in active)
            except MasterKeyError as exc:
                log.error("cannot sign mail from %s: %s", name, exc.message)
                raise DeliveryError(f"DKIM keys of {name} unavailable: {exc.message}", temporary=True) from None
            return DomainSigning(name, signing_keys, domain.return_path)
        return None
