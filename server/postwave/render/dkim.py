"""DKIM signing (RFC 6376), relaxed/relaxed: the twin of ``native/dkim.pyx``.

Signs with ``rsa-sha256`` and ``ed25519-sha256`` (RFC 8463), one signature per key, so two
keys (one of each) give the dual signature that RFC 8463 recommends while receivers still
learn Ed25519. Canonicalization and the body hash are ours (this module and its compiled
twin give byte-identical signatures); the signature itself is OpenSSL's, through
``cryptography``. Correctness is pinned by verifying every signature with dkimpy.

Only messages postwave built are signed: CRLF lines, a blank line after the header.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import time
from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils

from postwave.errors import InvalidArgumentError

__all__ = [
    "SIGNED_HEADERS", "DkimKey", "load_key", "load_keys", "relaxed_body", "relaxed_header", "sign",
    "signature_header",
]

#: Header fields signed when present, in this order. Those also in :data:`OVERSIGNED` are
#: listed once more than they occur, so that a field added in transit (a second From, a
#: Reply-To that was not there) breaks the signature instead of riding on it.
SIGNED_HEADERS = (
    "from", "to", "cc", "reply-to", "subject", "date", "message-id", "mime-version",
    "content-type", "content-transfer-encoding", "list-unsubscribe", "list-unsubscribe-post",
)
OVERSIGNED = frozenset({"from", "to", "cc", "reply-to", "subject", "date", "message-id",
                        "list-unsubscribe", "list-unsubscribe-post"})

_WSP_RUN = re.compile(rb"[ \t]+")
_FOLD = re.compile(rb"\r\n(?=[ \t])")
_LINE = 78
_B_CHUNK = 72
_PREHASHED = utils.Prehashed(hashes.SHA256())


@dataclasses.dataclass(frozen=True, slots=True)
class DkimKey:
    """One signing key: ``d=domain``, ``s=selector`` and an RSA or Ed25519 private key."""

    domain: str
    selector: str
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

    @property
    def algorithm(self) -> str:
        """``rsa-sha256`` or ``ed25519-sha256``, from the key's type."""
        return "ed25519-sha256" if isinstance(self.private_key, ed25519.Ed25519PrivateKey) else "rsa-sha256"


def load_key(path: str, *, domain: str, selector: str) -> DkimKey:
    """Read a PEM private key (RSA >= 1024 bits, or Ed25519) for ``domain``/``selector``.

    Raises:
        InvalidArgumentError: an unreadable file, another key type, or a bad name.
    """
    for field, value in (("dkim_domain", domain), ("dkim_selector", selector)):
        if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*", value):
            raise InvalidArgumentError(field, f"{value!r} is not a domain name or selector")
    try:
        with open(path, "rb") as file:
            key = serialization.load_pem_private_key(file.read(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidArgumentError("dkim_private_key_path", f"cannot read the key {path!r}: {exc}") from None
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 1024:
        raise InvalidArgumentError("dkim_private_key_path", f"{path}: RSA keys need at least 1024 bits")
    if not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise InvalidArgumentError("dkim_private_key_path", f"{path}: only RSA and Ed25519 keys sign DKIM")
    return DkimKey(domain.lower(), selector, key)


def load_keys(*, domain: str, selectors: str, paths: str) -> list[DkimKey]:
    """The keys named by the configuration (comma-separated ``selectors`` and ``paths``).

    Raises:
        InvalidArgumentError: as :func:`load_key`, or when the two lists differ in length.
    """
    selector_list = [s.strip() for s in selectors.split(",") if s.strip()]
    path_list = [p.strip() for p in paths.split(",") if p.strip()]
    if len(selector_list) != len(path_list):
        raise InvalidArgumentError("dkim_selector", "give one selector per key in dkim_private_key_path")
    return [load_key(path, domain=domain, selector=sel) for sel, path in zip(selector_list, path_list)]


def relaxed_body(body: bytes) -> bytes:
    """The relaxed body canonicalization (RFC 6376 3.4.4).

    Runs of spaces and tabs become one space, whitespace at line ends goes, empty lines at
    the end go, and a non-empty body ends with one CRLF.
    """
    body = _WSP_RUN.sub(b" ", body).replace(b" \r\n", b"\r\n")
    if body.endswith(b" "):
        body = body[:-1]
    end = len(body)
    while end >= 2 and body[end - 2] == 13 and body[end - 1] == 10:
        end -= 2
    return body[:end] + b"\r\n" if end else b""


def relaxed_header(field: bytes) -> bytes:
    """The relaxed canonicalization (RFC 6376 3.4.2) of one raw header field, with CRLF.

    The name is lowercased, continuation lines are unfolded, whitespace runs become one
    space, and whitespace around the colon and at the end goes.
    """
    name, colon, value = field.partition(b":")
    if not colon:
        raise ValueError("a header field needs a colon")
    value = _WSP_RUN.sub(b" ", _FOLD.sub(b"", value.removesuffix(b"\r\n"))).strip(b" ")
    return name.rstrip(b" \t").lower() + b":" + value + b"\r\n"


def _split(message: bytes) -> tuple[list[bytes], bytes]:
    """The raw header fields (each with its CRLF and continuation lines) and the body."""
    if message.startswith(b"\r\n"):
        return [], message[2:]
    end = message.find(b"\r\n\r\n")
    if end < 0:
        raise ValueError("message has no blank line between header and body")
    fields: list[bytes] = []
    for line in message[: end + 2].split(b"\r\n")[:-1]:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line + b"\r\n"
        else:
            fields.append(line + b"\r\n")
    return fields, message[end + 4 :]


def _selected(fields: list[bytes]) -> tuple[list[str], list[bytes]]:
    """The ``h=`` names and the fields they pick, each name taking instances bottom-up."""
    by_name: dict[str, list[bytes]] = {}
    for field in fields:
        by_name.setdefault(field.partition(b":")[0].rstrip(b" \t").decode("ascii").lower(), []).append(field)
    names: list[str] = []
    picked: list[bytes] = []
    for name in SIGNED_HEADERS:
        present = by_name.get(name, [])
        names.extend([name] * (len(present) + (name in OVERSIGNED)))
        picked.extend(reversed(present))
    return names, picked


def signature_header(key: DkimKey, names: Sequence[str], body_hash: str, timestamp: int) -> str:
    """The DKIM-Signature field without its signature (it ends with ``b=``), folded."""
    tags = [
        "v=1", f"a={key.algorithm}", "c=relaxed/relaxed", f"d={key.domain}", f"s={key.selector}",
        f"t={timestamp}", f"h={':'.join(names)}", f"bh={body_hash}",
    ]
    lines: list[str] = []
    line = "DKIM-Signature:"
    for tag in tags:
        if len(line) + len(tag) + 2 > _LINE:
            lines.append(line)
            line = ""
        line += f" {tag};"
    lines.append(line)
    return "\r\n".join(lines) + "\r\n b="


def _signed(key: DkimKey, data: bytes) -> bytes:
    digest = hashlib.sha256(data).digest()
    if isinstance(key.private_key, ed25519.Ed25519PrivateKey):
        # RFC 8463: Ed25519 (pure) signs the SHA-256 digest of the canonical header.
        return key.private_key.sign(digest)
    return key.private_key.sign(digest, padding.PKCS1v15(), _PREHASHED)


def sign(message: bytes, keys: Sequence[DkimKey], *, timestamp: int | None = None) -> bytes:
    """``message`` with one DKIM-Signature field per key prepended (in the order of ``keys``).

    Args:
        message: the complete message as built by :func:`postwave.render.mime.build_message`.
        keys: the signing keys (an RSA and an Ed25519 key for dual signing).
        timestamp: the ``t=`` tag (seconds since the epoch); default now.

    Raises:
        ValueError: the message has no header/body separator or a field without a colon.
    """
    if not keys:
        return message
    fields, body = _split(message)
    names, picked = _selected(fields)
    canonical = b"".join(relaxed_header(field) for field in picked)
    body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest()).decode("ascii")
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    out: list[bytes] = []
    for key in keys:
        head = signature_header(key, names, body_hash, stamp)
        data = canonical + relaxed_header(head.encode("ascii"))[:-2]
        value = base64.b64encode(_signed(key, data)).decode("ascii")
        chunks = [value[i : i + _B_CHUNK] for i in range(0, len(value), _B_CHUNK)]
        out.append((head + "\r\n ".join(chunks) + "\r\n").encode("ascii"))
    return b"".join(out) + message
