"""A client that stops reading is dropped with 4508 once its queue passes the
limit, and nobody else waits for it."""

from __future__ import annotations

import asyncio
import socket

from pycrdt import Text
from websockets.client import ClientProtocol
from websockets.uri import parse_uri

from client.session import RoomClient
from tests.conftest import eventually


def stalled_connection(ws_url: str) -> tuple[socket.socket, ClientProtocol]:
    """Open a websocket with a tiny receive buffer, then never read from it."""
    uri = parse_uri(ws_url)
    protocol = ClientProtocol(uri, max_size=None)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((uri.host, uri.port))
    request = protocol.connect()
    protocol.send_request(request)
    for chunk in protocol.data_to_send():
        sock.sendall(chunk)
    while protocol.handshake_exc is None and protocol.state.name == "CONNECTING":
        protocol.receive_data(sock.recv(4096))
    return sock, protocol


def dropped(sock: socket.socket) -> bool:
    """Whether the server aborted the connection: draining what it sent ends in a reset or EOF
    without waiting (a close frame would have sat behind everything the client never read)."""
    sock.settimeout(10)
    try:
        while sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


async def push(writer: RoomClient, reader: RoomClient, chunks: int, size: int = 20_000) -> None:
    """Paced writes (so that an honest reader keeps up); returns once the reader has them all."""
    text = writer.doc.get("text", type=Text)
    chunk = "x" * size
    for _ in range(chunks):
        text += chunk
        await asyncio.sleep(0.005)
    received = reader.doc.get("text", type=Text)
    await eventually(lambda: len(received) == chunks * size, timeout=30)


async def test_readers_that_never_read_are_dropped_at_once_and_others_get_everything(server_factory, tokens):
    server = server_factory(plenary_max_send_queue_bytes=str(1024 * 1024))
    server.create_draft("busy")
    stalled = [
        await asyncio.to_thread(stalled_connection, f"{server.ws}/busy?token={tokens()}") for _ in range(10)
    ]
    try:
        async with (
            RoomClient(server.ws, "busy", token=tokens()) as writer,
            RoomClient(server.ws, "busy", token=tokens()) as reader,
        ):
            await writer.wait_synced()
            await reader.wait_synced()
            assert server.health()["connections"] == 12
            await push(writer, reader, 300)  # 6 MB, far more than the stalled clients' buffers and queues
            # The stalled sessions are gone while the honest ones still read: nothing holds their room.
            await eventually(lambda: server.health()["connections"] == 2, timeout=5)
        for sock, _protocol in stalled:
            assert await asyncio.to_thread(dropped, sock)
        assert 'plenary_slow_readers_dropped_total{why="queue"} 10.0' in server.metrics()
    finally:
        for sock, _protocol in stalled:
            sock.close()


async def test_a_send_without_progress_times_out(server_factory, tokens):
    # The queue limit is never reached: what ends the stalled connection is the write timeout.
    server = server_factory(plenary_write_timeout_seconds="1", plenary_keepalive_seconds="1.5")
    server.create_draft("busy")
    sock, _protocol = await asyncio.to_thread(stalled_connection, f"{server.ws}/busy?token={tokens()}")
    try:
        async with (
            RoomClient(server.ws, "busy", token=tokens()) as writer,
            RoomClient(server.ws, "busy", token=tokens()) as reader,
        ):
            await writer.wait_synced()
            await reader.wait_synced()
            await push(writer, reader, 150)  # 3 MB: more than the kernel buffers, less than the queue limit
            await eventually(lambda: server.health()["connections"] == 2, timeout=10)
        assert await asyncio.to_thread(dropped, sock)
        assert 'plenary_slow_readers_dropped_total{why="write timeout"} 1.0' in server.metrics()
    finally:
        sock.close()
