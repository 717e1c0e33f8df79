"""DKIM key pairs of sending domains: generation, DNS values, and signing keys from storage."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Sequence

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from postwave.domains.masterkey import MasterKey
from postwave.errors import InvalidArgumentError, MasterKeyError
from postwave.render.dkim import DkimKey
from postwave.store.base import DkimSelectorRecord

#: Short names accepted by the API and CLI, and the DKIM algorithm each signs with.
ALGORITHMS = {"rsa": "rsa-sha256", "ed25519": "ed25519-sha256"}
DEFAULT_ALGORITHMS = ("rsa", "ed25519")
RSA_BITS = 2048


def algorithms(names: Sequence[str]) -> tuple[str, ...]:
    """Validated short names (default: both, for dual signing)."""
    chosen = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip())) or DEFAULT_ALGORITHMS
    for name in chosen:
        if name not in ALGORITHMS:
            raise InvalidArgumentError("algorithms", f"{name!r} is not one of {', '.join(ALGORITHMS)}")
    return chosen


def _generate(algorithm: str) -> tuple[bytes, str]:
    """(PKCS#8 DER private key, base64 public key for p=)."""
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    if algorithm == "rsa-sha256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        # RFC 6376 3.6.1: p= of an RSA key is the DER SubjectPublicKeyInfo.
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        # RFC 8463 4.2: p= of an Ed25519 key is the raw 32-byte public key.
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    private = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return private, base64.b64encode(public).decode("ascii")


def selector_name(algorithm: str, now: float) -> str:
    """``pw<yyyymmdd><r|e><4 hex>``: dated, typed, and distinct across rotations on one day."""
    day = time.strftime("%Y%m%d", time.gmtime(now))
    return f"pw{day}{'e' if algorithm.startswith('ed25519') else 'r'}{secrets.token_hex(2)}"


def new_selector(domain: str, short_name: str, box: MasterKey, *, now: float, state: str) -> DkimSelectorRecord:
    """A fresh key pair for ``domain``, its private half encrypted under the master key."""
    algorithm = ALGORITHMS[short_name]
    private, public = _generate(algorithm)
    selector = selector_name(algorithm, now)
    return DkimSelectorRecord(
        domain=domain, selector=selector, algorithm=algorithm, public_key=public,
        private_key=box.encrypt(private, context=f"{domain}/{selector}"), state=state, created=now, changed=now,
    )


def dns_value(record: DkimSelectorRecord) -> str:
    """The TXT value to publish at ``<selector>._domainkey.<domain>``."""
    kind = "ed25519" if record.algorithm == "ed25519-sha256" else "rsa"
    return f"v=DKIM1; k={kind}; p={record.public_key}"


def signing_key(record: DkimSelectorRecord, box: MasterKey) -> DkimKey:
    """The decrypted signing key of a selector."""
    der = box.decrypt(record.private_key, context=f"{record.domain}/{record.selector}")
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise MasterKeyError(f"the key of {record.domain}/{record.selector} is not an RSA or Ed25519 key")
    return DkimKey(record.domain, record.selector, key)
