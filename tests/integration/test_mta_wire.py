"""The pipelined reply reader (postwave.mta.wire) against a real TCP peer on loopback that
answers with scripted bytes: replies in one segment, dripped a byte at a time, multi-line,
not SMTP at all, late, or a hang-up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import aiosmtplib
import pytest

from postwave.mta.wire import Wire

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Connect = Callable[[Answer], Awaitable[Wire]]

REPLIES = b"250-first line\r\n250 second line\r\n251 2.1.5 will forward\r\n354 go ahead\r\n"
EXPECTED = [(250, "first line\nsecond line"), (251, "2.1.5 will forward"), (354, "go ahead")]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    servers: list[asyncio.Server] = []
    wires: list[Wire] = []

    async def make(answer: Answer) -> Wire:
        async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await answer(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_server(session, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        transport, _ = await asyncio.get_running_loop().create_connection(asyncio.Protocol, "127.0.0.1", port)
        assert isinstance(transport, asyncio.Transport)
        wire = Wire(transport, timeout=0.5)
        wires.append(wire)
        return wire

    yield make
    for wire in wires:
        wire.close()
    for server in servers:
        server.close()
        await server.wait_closed()


async def _three_commands(reader: asyncio.StreamReader) -> None:
    for _ in range(3):
        await reader.readline()


async def test_replies_written_at_once_are_all_kept_in_order(connect: Connect) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _three_commands(reader)
        writer.write(REPLIES)  # one segment: aiosmtplib's protocol would keep only the first
        await writer.drain()
        await reader.read()

    wire = await connect(answer)
    wire.write(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
    assert [await wire.reply() for _ in range(3)] == EXPECTED
    assert wire.connected


async def test_replies_dripped_a_byte_at_a_time_are_put_together(connect: Connect) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _three_commands(reader)
        for i in range(len(REPLIES)):
            writer.write(REPLIES[i:i + 1])
            await writer.drain()
            await asyncio.sleep(0.001)
        await reader.read()

    wire = await connect(answer)
    wire.write(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
    assert [await wire.reply() for _ in range(3)] == EXPECTED


async def test_a_reply_that_is_not_smtp_is_an_error_and_ends_the_connection(connect: Connect) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"250 2.1.0 Ok\r\nHTTP/1.1 400 Bad Request\r\n")
        await reader.read()

    wire = await connect(answer)
    wire.write(b"MAIL FROM:<a@x.test>\r\n")
    assert await wire.reply() == (250, "2.1.0 Ok")
    with pytest.raises(aiosmtplib.SMTPResponseException, match="Malformed SMTP response line: HTTP/1.1") as caught:
        await wire.reply()
    assert caught.value.code == -1
    assert not wire.connected
    with pytest.raises(aiosmtplib.SMTPResponseException):
        wire.write(b"RSET\r\n")


async def test_a_late_reply_times_out(connect: Connect) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers

    wire = await connect(answer)
    wire.write(b"NOOP\r\n")
    with pytest.raises(aiosmtplib.SMTPReadTimeoutError):
        await wire.reply()


async def test_a_hang_up_is_a_disconnect_after_the_replies_already_read(connect: Connect) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"421 4.7.0 closing\r\n")
        await writer.drain()
        writer.close()

    wire = await connect(answer)
    wire.write(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n")
    assert await wire.reply() == (421, "4.7.0 closing")
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await wire.reply()
    assert not wire.connected
