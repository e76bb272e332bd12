"""Sockets a careless or hostile client would hold: every handshake is answered and closed, and
connections still sending their request head are bounded and timed (server/sync/handshake.py)."""

from __future__ import annotations

import os
import socket
import time

import httpx

HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
)


def handshake(port: int, path: str, extra: str = "") -> bytes:
    return HANDSHAKE.format(path=path, port=port, extra=extra).encode()


def answer_and_eof(sock: socket.socket, timeout: float = 10) -> bytes:
    """Everything the server sends until it closes (a timeout here means it held the socket)."""
    sock.settimeout(timeout)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:100]
    return int(answer[9:12])


def test_oversized_handshakes_are_answered_and_closed(server, tokens):
    baseline = open_descriptors(server.proc.pid)
    token = tokens()
    requests = {
        # A request line over 8 KB: a long token, a long room name.
        414: handshake(server.port, f"/ws/plan-a?token={token}&pad={'a' * 9000}"),
        # A header line over 8 KB.
        431: handshake(server.port, "/ws/plan-a", extra=f"Cookie: {'c' * 9000}\r\n"),
    }
    for status, request in requests.items():
        for _ in range(5):  # 500 sockets in all, 100 open at a time
            sockets = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(50)]
            try:
                for sock in sockets:
                    sock.sendall(request)
                for sock in sockets:
                    assert status_of(answer_and_eof(sock)) == status
            finally:
                for sock in sockets:
                    sock.close()
    # Nothing is held: the server's descriptors are back to where they were.
    deadline = time.monotonic() + 10
    while open_descriptors(server.proc.pid) > baseline + 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_descriptors(server.proc.pid) <= baseline + 5
    assert httpx.get(f"{server.http}/healthz").status_code == 200
    assert 'plenary_handshakes_refused_total{reason="unparseable"} 500.0' in server.metrics()


def test_connections_still_opening_are_bounded_and_timed(server_factory):
    server = server_factory(
        plenary_max_opening_connections_per_address="20", plenary_handshake_timeout_seconds="3"
    )
    # A storm of honest connections from one address (a reconnect after a restart, or many
    # behind one proxy) is not refused: each sends its head at once.
    storm = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(100)]
    try:
        for sock in storm:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert [status_of(answer_and_eof(sock)) for sock in storm] == [200] * 100
    finally:
        for sock in storm:
            sock.close()
    silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
    try:
        # A slow-loris connection sends half a request head and stops.
        for sock in silent:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        time.sleep(1.5)  # past the grace: they count against the limit now
        one_more = socket.create_connection(("127.0.0.1", server.port))
        with one_more:
            assert status_of(answer_and_eof(one_more)) == 503
        # Each silent one is answered 408 and closed once its time is up.
        for sock in silent:
            assert status_of(answer_and_eof(sock)) == 408
    finally:
        for sock in silent:
            sock.close()
    # And the door is open again.
    assert httpx.get(f"{server.http}/healthz").status_code == 200
    figures = server.metrics()
    assert 'plenary_handshakes_refused_total{reason="busy"} 1.0' in figures
    assert 'plenary_handshakes_refused_total{reason="timeout"} 20.0' in figures


def response_on(sock: socket.socket, request: bytes, timeout: float = 10) -> bytes:
    """Send ``request`` and read one whole response (Content-Length bodies), keeping the socket."""
    sock.settimeout(timeout)
    sock.sendall(request)
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_every_request_head_on_a_kept_alive_connection_is_bounded_and_timed(server_factory, tokens):
    server = server_factory(
        plenary_max_opening_connections_per_address="4", plenary_handshake_timeout_seconds="2"
    )
    ask = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    honest = socket.create_connection(("127.0.0.1", server.port))
    upgrading = socket.create_connection(("127.0.0.1", server.port))
    held: list[socket.socket] = []
    try:
        # Many requests on one connection, one of them with its head split across two writes.
        for _ in range(20):
            assert status_of(response_on(honest, ask)) == 200
        honest.sendall(ask[:20])
        time.sleep(0.2)
        assert status_of(response_on(honest, ask[20:])) == 200
        assert status_of(response_on(upgrading, ask)) == 200
        # One whole request each, then the next head begun and never finished: uvicorn's
        # keep-alive timer stops at its first byte, so only the doorway can time it.
        begun = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        for _ in range(7):
            held.append(sock := socket.create_connection(("127.0.0.1", server.port)))
            assert status_of(response_on(sock, ask)) == 200
            sock.sendall(begun)
        # And one pipelined: the begun head waits in h11's buffer while the first is answered.
        held.append(sock := socket.create_connection(("127.0.0.1", server.port)))
        assert status_of(response_on(sock, ask + begun)) == 200
        time.sleep(1.5)  # past the grace: they count against the per-address limit
        one_more = socket.create_connection(("127.0.0.1", server.port))
        with one_more:
            assert status_of(answer_and_eof(one_more)) == 503
        # Kept-alive connections whose heads arrive whole never wait at the door.
        assert status_of(response_on(honest, ask)) == 200
        upgrading.settimeout(10)
        upgrading.sendall(handshake(server.port, f"/ws/plan-a?token={tokens()}"))
        assert status_of(upgrading.recv(65536)) == 101
        # Each held one is answered 408 and closed once its time is up.
        assert [status_of(answer_and_eof(sock)) for sock in held] == [408] * len(held)
    finally:
        for sock in [honest, upgrading, *held]:
            sock.close()
    figures = server.metrics()
    assert 'plenary_handshakes_refused_total{reason="busy"} 1.0' in figures
    assert 'plenary_handshakes_refused_total{reason="timeout"} 8.0' in figures
