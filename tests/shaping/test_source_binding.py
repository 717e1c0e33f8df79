"""DeliveryPool binds each connection to the source address the shaper chose (real peers)."""

from __future__ import annotations

from postwave.mta.client import DeliveryPool
from postwave.mta.mx import Target
from tests.servers.fixtures import MakeSMTPPeer

MESSAGE = b"From: <s@postwave.test>\r\nTo: <r@ok.test>\r\nSubject: hi\r\n\r\nHello.\r\n"


async def test_connections_are_pooled_per_source_address(make_smtp_peer: MakeSMTPPeer) -> None:
    peer = make_smtp_peer()
    target = [Target("mx.ok.test", peer.address, peer.port)]
    pool = DeliveryPool(helo_name="out.postwave.test", source_address="127.0.0.21", connect_timeout=2.0,
                        command_timeout=2.0)
    try:
        for source in ("127.0.0.22", None, "127.0.0.22", "127.0.0.23", None):
            reply = await pool.deliver(target, "s@postwave.test", "r@ok.test", MESSAGE, source_address=source)
            assert reply.code == 250
        received = await peer.wait_for_async(5)
    finally:
        await pool.close()
    # None means the pool's own source_address; a reused connection keeps its source.
    assert [r.peer[0] for r in received] == ["127.0.0.22", "127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.21"]
    assert peer.attempts["CONNECT"] == 3  # one connection per source, reused
    ports = {r.peer[0]: {x.peer[1] for x in received if x.peer[0] == r.peer[0]} for r in received}
    assert all(len(p) == 1 for p in ports.values())
