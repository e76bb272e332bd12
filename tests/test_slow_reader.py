"""A client that stops reading is dropped with 4508 once its queue passes the
limit, and nobody else waits for it."""

from __future__ import annotations

import asyncio
import socket

from pycrdt import Text
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
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


def close_code_after_draining(sock: socket.socket, protocol: ClientProtocol) -> int | None:
    sock.settimeout(10)
    while True:
        data = sock.recv(1 << 20)
        if not data:
            protocol.receive_eof()
        else:
            protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                return int.from_bytes(event.data[:2], "big")
        if not data:
            return None


async def test_slow_reader_is_dropped_and_others_keep_receiving(server_factory, tokens):
    server = server_factory(plenary_max_send_queue_bytes=str(1024 * 1024))
    server.create_draft("busy")
    token = tokens()
    sock, protocol = await asyncio.to_thread(stalled_connection, f"{server.ws}/busy?token={token}")
    try:
        async with (
            RoomClient(server.ws, "busy", token=tokens()) as writer,
            RoomClient(server.ws, "busy", token=tokens()) as reader,
        ):
            await writer.wait_synced()
            await reader.wait_synced()
            text = writer.doc.get("text", type=Text)
            chunk = "x" * 20_000
            for _ in range(300):  # 6 MB, far more than the stalled client's buffers and queue
                text += chunk
                await asyncio.sleep(0.005)  # paced, so that the real reader keeps up
            received = reader.doc.get("text", type=Text)
            await eventually(lambda: len(received) == 300 * len(chunk), timeout=30)
        code = await asyncio.to_thread(close_code_after_draining, sock, protocol)
        assert code == 4508
    finally:
        sock.close()
