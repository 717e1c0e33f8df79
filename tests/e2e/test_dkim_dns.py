"""A delivered message's DKIM signatures verify against the keys published in real DNS.

The platform signs with an RSA-2048 and an Ed25519 key (dual signing); the public halves
are published as TXT records by the test's dnsmasq, the same server that gives the
recipient domain's MX. dkimpy, an independent implementation, then verifies the message
exactly as the receiving peer got it, fetching the keys from that DNS server.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dkim as dkimpy
import dns.resolver
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.platform import Platform, bearer, request

DOMAIN = "postwave.test"


def _pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, path: Path) -> str:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return str(path)


def _rsa_record(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def _ed25519_record(key: ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "v=DKIM1; k=ed25519; p=" + base64.b64encode(raw).decode()


def _dns_lookup(port: int) -> Callable[..., bytes]:
    """dkimpy's ``dnsfunc``: TXT records from the test's DNS server (and nowhere else)."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        try:
            answer = resolver.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return b""
        return b"".join(b"".join(record.strings) for record in answer)

    return lookup


def _verifies(message: bytes, index: int, lookup: Callable[..., bytes]) -> bool:
    try:
        return bool(dkimpy.DKIM(message).verify(idx=index, dnsfunc=lookup))
    except dkimpy.DKIMException:  # dkimpy raises for some failures (body hash mismatch)
        return False


def test_delivered_message_verifies_against_dkim_keys_published_in_dns(
    tmp_path: Path, make_dns_server: Any, make_smtp_peer: Any, make_platform: Callable[..., Platform]
) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    # A third selector is published with a key the platform does not hold: a signature
    # claiming it must fail, which shows the verification really reads these records.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    peer = make_smtp_peer()
    dns_server = make_dns_server(
        mx={"ok.test": [(10, "mx.ok.test")]},
        a={"mx.ok.test": peer.address},
        txt={f"rsa1._domainkey.{DOMAIN}": _rsa_record(rsa_key),
             f"ed1._domainkey.{DOMAIN}": _ed25519_record(ed_key),
             f"other._domainkey.{DOMAIN}": _rsa_record(stranger)},
    )
    platform = make_platform(
        dns_port=dns_server.port, tracking_base_url="https://t.postwave.test", dkim_domain=DOMAIN,
        dkim_selector="rsa1,ed1",
        dkim_private_key_path=f"{_pem(rsa_key, tmp_path / 'rsa.pem')},{_pem(ed_key, tmp_path / 'ed.pem')}",
    )
    _, key = platform.tenant("acme")
    req = request(to=["Zoë Müller <zoe@ok.test>"], subject="Grüße aus dem Test", text="Hallo Zoë\n.\nTschüss",
                  html="<p>Hallo Zoë</p>")
    ref = platform.send_stub().Send(req, metadata=bearer(key), timeout=10).messages[0]
    assert platform.wait_state(key, ref.message_id, {"delivered"}).state == "delivered"

    (got,) = peer.wait_for(1)
    lookup = _dns_lookup(dns_server.port)
    verifier = dkimpy.DKIM(got.data)
    algorithms: dict[bytes, int] = {}
    for index in range(2):
        assert verifier.verify(idx=index, dnsfunc=lookup), f"signature {index} does not verify"
        algorithms[verifier.signature_fields[b"a"]] = index
    assert set(algorithms) == {b"rsa-sha256", b"ed25519-sha256"}
    assert not verifier.verify(idx=2, dnsfunc=lookup)  # there is no third signature

    tampered = got.data + b"P.S. added in transit\r\n"
    assert not _verifies(tampered, algorithms[b"rsa-sha256"], lookup)
    assert not _verifies(tampered, algorithms[b"ed25519-sha256"], lookup)
    claimed_other = re.sub(rb"s=rsa1;", b"s=other;", got.data, count=1)
    assert claimed_other != got.data
    assert not _verifies(claimed_other, algorithms[b"rsa-sha256"], lookup)
