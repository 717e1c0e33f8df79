"""DeliveryPool against real SMTP peers (aiosmtpd) on 127.0.1.x:25."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from postwave.errors import DeliveryError, InvalidArgumentError
from postwave.mta.client import DeliveryPool, SMTPReply
from postwave.mta.mx import Target
from tests.servers.addresses import next_peer_address
from tests.servers.fixtures import MakeSMTPPeer
from tests.servers.smtp import SMTPPeer

HELO = "out1.postwave.test"
SENDER = "bounces+42@postwave.test"
RECIPIENT = "someone@ok.test"
MESSAGE = (
    b"From: Sender <sender@postwave.test>\r\n"
    b"To: <someone@ok.test>\r\n"
    b"Subject: hello\r\n"
    b"\r\n"
    b"Hello there.\r\n"
)

MakePool = Callable[..., DeliveryPool]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test with the one peer runs twice: a peer that takes commands one at a time,
    and one that offers PIPELINING (MAIL, RCPT and DATA then go in one write)."""
    if "smtp_peer" in metafunc.fixturenames:
        metafunc.parametrize("smtp_peer", [False, True], indirect=True, ids=["one-at-a-time", "pipelining"])


def target(peer: SMTPPeer) -> Target:
    return Target(f"mx-{peer.address}.ok.test", peer.address, peer.port)


def unreachable() -> Target:
    """A loopback address where nothing listens: connecting is refused at once."""
    return Target("down.ok.test", next_peer_address(), 25)


@pytest.fixture
async def make_pool(make_smtp_peer: MakeSMTPPeer) -> AsyncIterator[MakePool]:
    # Depending on make_smtp_peer makes the peers outlive the pools, so close() can QUIT.
    pools: list[DeliveryPool] = []

    def make(**options: object) -> DeliveryPool:
        settings: dict[str, object] = {"helo_name": HELO, "connect_timeout": 2.0,
                                       "command_timeout": 2.0}
        settings.update(options)
        pool = DeliveryPool(**settings)  # type: ignore[arg-type]
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.close()


@pytest.fixture
def pool(make_pool: MakePool) -> DeliveryPool:
    return make_pool()


async def send(pool: DeliveryPool, peer: SMTPPeer, data: bytes = MESSAGE) -> SMTPReply:
    return await pool.deliver([target(peer)], SENDER, RECIPIENT, data)


async def test_delivers_the_exact_bytes(pool: DeliveryPool, smtp_peer: SMTPPeer) -> None:
    reply = await send(pool, smtp_peer)
    assert (reply.code, reply.stage) == (250, "DATA")
    assert (reply.host, reply.address) == (target(smtp_peer).host, smtp_peer.address)
    (got,) = smtp_peer.received
    assert (got.mail_from, got.rcpt_tos, got.data, got.helo) == (
        SENDER, [RECIPIENT], MESSAGE, HELO
    )


@pytest.mark.parametrize("null", ["", "<>"])
async def test_null_sender_for_bounces(
    pool: DeliveryPool, smtp_peer: SMTPPeer, null: str
) -> None:
    await pool.deliver([target(smtp_peer)], null, RECIPIENT, MESSAGE)
    assert smtp_peer.received[0].mail_from == ""


async def test_dot_stuffing_keeps_lines_that_start_with_a_dot(
    pool: DeliveryPool, smtp_peer: SMTPPeer
) -> None:
    body = b"Subject: dots\r\n\r\n.\r\n..\r\n.hidden\r\nend\r\n.\r\n"
    assert (await send(pool, smtp_peer, body)).code == 250
    assert smtp_peer.received[0].data == body


async def test_connection_is_reused(pool: DeliveryPool, smtp_peer: SMTPPeer) -> None:
    for _ in range(3):
        assert (await send(pool, smtp_peer)).code == 250
    assert smtp_peer.attempts["CONNECT"] == 1
    assert smtp_peer.attempts["EHLO"] == 1
    assert len(smtp_peer.received) == 3


async def test_connection_retired_after_max_messages(
    make_pool: MakePool, smtp_peer: SMTPPeer
) -> None:
    pool = make_pool(max_messages_per_connection=2)
    for _ in range(5):
        assert (await send(pool, smtp_peer)).code == 250
    assert smtp_peer.attempts["CONNECT"] == 3
    assert smtp_peer.attempts["QUIT"] == 2


async def test_idle_connection_expires(make_pool: MakePool, smtp_peer: SMTPPeer) -> None:
    pool = make_pool(idle_timeout=0.05)
    await send(pool, smtp_peer)
    await asyncio.sleep(0.2)
    await send(pool, smtp_peer)
    assert smtp_peer.attempts["CONNECT"] == 2


async def test_concurrency_capped_per_host(make_pool: MakePool, smtp_peer: SMTPPeer) -> None:
    pool = make_pool(max_connections_per_host=2)
    replies = await asyncio.gather(*(send(pool, smtp_peer) for _ in range(10)))
    assert [r.code for r in replies] == [250] * 10
    assert smtp_peer.attempts["CONNECT"] == 2


async def test_close_says_quit(pool: DeliveryPool, smtp_peer: SMTPPeer) -> None:
    await send(pool, smtp_peer)
    await pool.close()
    assert smtp_peer.attempts["QUIT"] == 1
    with pytest.raises(DeliveryError) as caught:
        await send(pool, smtp_peer)
    assert caught.value.temporary is True


@pytest.mark.smtp_fault(RCPT=["550 5.1.1 The email account that you tried to reach does not exist"])
async def test_rcpt_refusal_is_returned_and_connection_kept(
    pool: DeliveryPool, smtp_peer: SMTPPeer
) -> None:
    reply = await send(pool, smtp_peer)
    assert (reply.code, reply.stage) == (550, "RCPT")
    assert reply.text.startswith("5.1.1 The email account")
    assert smtp_peer.attempts["RSET"] == 1
    assert (await send(pool, smtp_peer)).code == 250
    assert smtp_peer.attempts["CONNECT"] == 1


@pytest.mark.smtp_fault(RCPT=["550 5.1.1 no such user"])
async def test_the_envelope_goes_in_one_write_only_to_a_peer_that_offers_pipelining(
    pool: DeliveryPool, smtp_peer: SMTPPeer
) -> None:
    reply = await send(pool, smtp_peer)
    assert (reply.code, reply.stage) == (550, "RCPT")
    # Pipelined, DATA went with MAIL and RCPT, and the server refused it (no recipient);
    # one at a time, nothing follows a refused RCPT.
    assert smtp_peer.attempts["DATA"] == (1 if smtp_peer.pipelining else 0)
    assert smtp_peer.received == []
    assert (await send(pool, smtp_peer)).code == 250
    assert smtp_peer.attempts["CONNECT"] == 1 and len(smtp_peer.received) == 1


@pytest.mark.smtp_fault(MAIL="451 4.7.1 Try again later")
async def test_mail_refusal_is_returned(pool: DeliveryPool, smtp_peer: SMTPPeer) -> None:
    reply = await send(pool, smtp_peer)
    assert (reply.code, reply.text, reply.stage) == (451, "4.7.1 Try again later", "MAIL")


@pytest.mark.smtp_fault(DATA="451 4.3.0 Mail server temporarily rejected message")
async def test_data_refusal_is_returned(pool: DeliveryPool, smtp_peer: SMTPPeer) -> None:
    reply = await send(pool, smtp_peer)
    assert (reply.code, reply.stage) == (451, "DATA")
    assert smtp_peer.received == []
    assert (await send(pool, smtp_peer)).code == 250
    assert smtp_peer.attempts["CONNECT"] == 1


@pytest.mark.smtp_fault(DATA="disconnect")
async def test_disconnect_mid_data_is_temporary(pool: DeliveryPool, smtp_peer: SMTPPeer) -> None:
    with pytest.raises(DeliveryError, match="DATA") as caught:
        await send(pool, smtp_peer)
    assert caught.value.temporary is True
    assert smtp_peer.attempts["DATA"] == 1  # never silently retried once data was sent
    assert (await send(pool, smtp_peer)).code == 250
    assert smtp_peer.attempts["CONNECT"] == 2


async def test_disconnect_mid_data_on_reused_connection_is_not_retried(
    pool: DeliveryPool, smtp_peer: SMTPPeer
) -> None:
    await send(pool, smtp_peer)
    smtp_peer.script("DATA", ["disconnect"])
    with pytest.raises(DeliveryError):
        await send(pool, smtp_peer)
    assert smtp_peer.attempts["DATA"] == 2


@pytest.mark.smtp_fault(RCPT="421 4.7.0 Too many connections, slow down")
async def test_421_on_fresh_connection_is_returned_and_drops_it(
    pool: DeliveryPool, smtp_peer: SMTPPeer
) -> None:
    reply = await send(pool, smtp_peer)
    assert (reply.code, reply.stage) == (421, "RCPT")
    assert (await send(pool, smtp_peer)).code == 250
    assert smtp_peer.attempts["CONNECT"] == 2


@pytest.mark.parametrize("fault", ["disconnect", "421 4.4.2 Idle timeout, closing"])
async def test_stale_pooled_connection_is_retried_fresh(
    pool: DeliveryPool, smtp_peer: SMTPPeer, fault: str
) -> None:
    await send(pool, smtp_peer)
    smtp_peer.script("MAIL", [fault])
    assert (await send(pool, smtp_peer)).code == 250
    assert smtp_peer.attempts["CONNECT"] == 2
    assert len(smtp_peer.received) == 2


async def test_stale_retry_happens_once(pool: DeliveryPool, smtp_peer: SMTPPeer) -> None:
    await send(pool, smtp_peer)
    smtp_peer.script("MAIL", ["disconnect", "disconnect"])
    with pytest.raises(DeliveryError) as caught:
        await send(pool, smtp_peer)
    assert caught.value.temporary is True
    assert smtp_peer.attempts["MAIL"] == 3


async def test_unreachable_first_target_falls_through(
    pool: DeliveryPool, smtp_peer: SMTPPeer
) -> None:
    reply = await pool.deliver([unreachable(), target(smtp_peer)], SENDER, RECIPIENT, MESSAGE)
    assert (reply.code, reply.address) == (250, smtp_peer.address)


async def test_no_reachable_target_is_temporary(pool: DeliveryPool) -> None:
    targets = [unreachable(), Target("down2.ok.test", next_peer_address(), 25)]
    with pytest.raises(DeliveryError, match="down.ok.test.*down2.ok.test") as caught:
        await pool.deliver(targets, SENDER, RECIPIENT, MESSAGE)
    assert caught.value.temporary is True


async def test_refused_greeting_moves_on(
    pool: DeliveryPool, make_smtp_peer: MakeSMTPPeer
) -> None:
    busy = make_smtp_peer(script={"CONNECT": ["421 4.3.2 Service not available"]})
    ok = make_smtp_peer()
    reply = await pool.deliver([target(busy), target(ok)], SENDER, RECIPIENT, MESSAGE)
    assert (reply.code, reply.address) == (250, ok.address)


async def test_greeting_refused_everywhere_is_returned(
    pool: DeliveryPool, make_smtp_peer: MakeSMTPPeer
) -> None:
    refusal = ["554 5.7.1 No SMTP service here"]
    peers = [make_smtp_peer(script={"CONNECT": refusal}) for _ in range(2)]
    reply = await pool.deliver([target(p) for p in peers], SENDER, RECIPIENT, MESSAGE)
    assert (reply.code, reply.stage, reply.address) == (554, "CONNECT", peers[1].address)


@pytest.mark.smtp_fault(EHLO="502 5.5.2 Error: command not recognized")
async def test_ehlo_refused_falls_back_to_helo(pool: DeliveryPool, smtp_peer: SMTPPeer) -> None:
    assert (await send(pool, smtp_peer)).code == 250
    assert smtp_peer.attempts["HELO"] == 1
    assert smtp_peer.received[0].helo == HELO


async def test_starttls_used_when_offered(
    pool: DeliveryPool, make_smtp_peer: MakeSMTPPeer
) -> None:
    peer = make_smtp_peer(starttls=True)
    assert (await send(pool, peer)).code == 250
    assert peer.received[0].tls is True
    assert peer.attempts["STARTTLS"] == 1
    assert peer.attempts["EHLO"] == 2  # RFC 3207: EHLO again after the handshake


async def test_starttls_not_used_when_disabled(
    make_pool: MakePool, make_smtp_peer: MakeSMTPPeer
) -> None:
    peer = make_smtp_peer(starttls=True)
    assert (await send(make_pool(starttls=False), peer)).code == 250
    assert peer.received[0].tls is False


async def test_plaintext_when_starttls_not_offered(
    pool: DeliveryPool, smtp_peer: SMTPPeer
) -> None:
    assert (await send(pool, smtp_peer)).code == 250
    assert smtp_peer.received[0].tls is False


async def test_refused_starttls_continues_in_plaintext(
    pool: DeliveryPool, make_smtp_peer: MakeSMTPPeer
) -> None:
    peer = make_smtp_peer(starttls=True, script={"STARTTLS": ["454 4.7.0 TLS not available"]})
    assert (await send(pool, peer)).code == 250
    assert peer.received[0].tls is False
    assert peer.attempts["CONNECT"] == 1


async def test_broken_tls_handshake_retried_in_plaintext(
    make_pool: MakePool, make_smtp_peer: MakeSMTPPeer
) -> None:
    # The peer says "go ahead" but never starts TLS: the handshake times out.
    peer = make_smtp_peer(starttls=True, script={"STARTTLS": ["220 2.0.0 Ready to start TLS"]})
    pool = make_pool(command_timeout=0.5)
    assert (await send(pool, peer)).code == 250
    assert peer.received[0].tls is False
    assert peer.attempts["CONNECT"] == 2


async def test_source_address_is_used(make_pool: MakePool, smtp_peer: SMTPPeer) -> None:
    pool = make_pool(source_address="127.0.0.23")
    await send(pool, smtp_peer)
    assert smtp_peer.received[0].peer[0] == "127.0.0.23"


async def test_connections_are_per_address(
    pool: DeliveryPool, make_smtp_peer: MakeSMTPPeer
) -> None:
    first, second = make_smtp_peer(), make_smtp_peer()
    for peer in (first, second, first, second):
        assert (await send(pool, peer)).code == 250
    assert (first.attempts["CONNECT"], second.attempts["CONNECT"]) == (1, 1)


@pytest.mark.parametrize(
    ("mail_from", "rcpt_to", "field"),
    [
        ("a@x.test", "b@y.test\r\nRCPT TO:<evil@z.test>", "rcpt_to"),
        ("a@x.test\r\nDATA", "b@y.test", "mail_from"),
        ("a@x.test", "", "rcpt_to"),
        ("a@x.test", "Some One <b@y.test>", "rcpt_to"),
        ("a@x.test", "b@y.test (comment)", "rcpt_to"),
    ],
)
async def test_unsendable_addresses_are_rejected_before_connecting(
    pool: DeliveryPool, smtp_peer: SMTPPeer, mail_from: str, rcpt_to: str, field: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        await pool.deliver([target(smtp_peer)], mail_from, rcpt_to, MESSAGE)
    assert caught.value.field == field
    assert smtp_peer.attempts["CONNECT"] == 0


async def test_no_targets_is_an_error(pool: DeliveryPool) -> None:
    with pytest.raises(InvalidArgumentError):
        await pool.deliver([], SENDER, RECIPIENT, MESSAGE)


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(InvalidArgumentError):
        DeliveryPool(helo_name=HELO, max_connections_per_host=0)
    for helo in ("", " ", "out.test\r\nMAIL FROM:<x@y.test>"):
        with pytest.raises(InvalidArgumentError):
            DeliveryPool(helo_name=helo)
