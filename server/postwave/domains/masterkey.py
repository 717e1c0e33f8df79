"""The master key: AES-256-GCM encryption of DKIM private keys, and keys derived from it.

The key comes from ``master_key`` (base64 of 32 bytes). With the embedded store and no
``master_key``, it is read from ``<data_dir>/master.key``, created (mode 0600) on first use,
so a single-host install needs no setup; every process of the install reads the same file.
With ``store=cql`` processes run on many hosts, so they must be given one key: a missing key
is then an error, raised when a domain key is first needed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from postwave.config import Config
from postwave.errors import MasterKeyError

KEY_FILE = "master.key"
_VERSION = b"\x01"  # first byte of every ciphertext: the format, so the scheme can change
_NONCE = 12


def new_master_key() -> str:
    """A fresh master key, as written to configuration."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def decode(text: str, *, source: str) -> bytes:
    """The 32 key bytes of a base64 (standard or URL-safe) master key."""
    cleaned = text.strip()
    try:
        standard = cleaned.replace("-", "+").replace("_", "/")
        raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(f"master key in {source} is not base64") from None
    if len(raw) != 32:
        raise MasterKeyError(f"master key in {source} must be 32 bytes (base64 of 32 random bytes), not {len(raw)}")
    return raw


def load(config: Config) -> MasterKey:
    """The master key of this configuration (see the module docstring)."""
    return _load(config.master_key, config.data_dir, config.store)


@functools.lru_cache(maxsize=8)
def _load(configured: str, data_dir: str, store: str) -> MasterKey:
    if configured:
        return MasterKey(decode(configured, source="master_key (POSTWAVE_MASTER_KEY)"))
    if store != "embedded":
        raise MasterKeyError(
            "master_key is not set: with store=cql every process must be given the same key "
            "(POSTWAVE_MASTER_KEY; create one with `postwave domains master-key`)"
        )
    path = os.path.join(data_dir, KEY_FILE)
    return MasterKey(decode(_read_or_create(path), source=path))


def _read_or_create(path: str) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        # O_EXCL: of two processes starting at once, one creates and both read its key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as file:
            file.write(new_master_key() + "\n")
            file.flush()
            os.fsync(file.fileno())
    try:
        with open(path, encoding="ascii") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise MasterKeyError(f"cannot read the master key file {path}: {exc}") from None
    if not text.strip():
        raise MasterKeyError(f"the master key file {path} is empty")
    return text


class MasterKey:
    """Encrypts and decrypts small secrets; derives purpose-bound keys."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        self._key = key

    def encrypt(self, plaintext: bytes, *, context: str) -> bytes:
        """``context`` (e.g. ``example.com/selector``) is authenticated, binding the
        ciphertext to the record it belongs to: a key copied to another row fails to decrypt."""
        nonce = secrets.token_bytes(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, *, context: str) -> bytes:
        """The plaintext; MasterKeyError when the key is wrong or the data was altered."""
        if blob[:1] != _VERSION or len(blob) < 1 + _NONCE + 16:
            raise MasterKeyError(f"encrypted key of {context} has an unknown format")
        try:
            return self._aead.decrypt(blob[1:1 + _NONCE], blob[1 + _NONCE:], context.encode())
        except InvalidTag:
            raise MasterKeyError(
                f"cannot decrypt the key of {context}: the master key differs from the one it was stored with"
            ) from None

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (e.g. VERP signatures), independent of the others."""
        return hmac.new(self._key, b"postwave/" + purpose.encode(), hashlib.sha256).digest()
