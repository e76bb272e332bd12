"""Origin and host: the server answers only to its host names (PLENARY_ALLOWED_HOSTS), so a DNS-rebinding
page (Host and Origin both evil.example:PORT) gets no socket and no data; the same-origin check of the
websocket compares scheme, host and port. Raw sockets against a real server: the Host header is sent
exactly as an attacker's browser would."""

from __future__ import annotations

import base64
import json
import os
import socket
from collections.abc import Iterator

import pytest

from tests.conftest import ServerProcess, Tokens


def handshake(
    port: int, path: str, host: str, origin: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request (a websocket upgrade when ``path`` starts with /ws/): status, headers, body."""
    headers = [f"GET {path} HTTP/1.1", f"Host: {host}"]
    if path.startswith("/ws/"):
        key = base64.b64encode(os.urandom(16)).decode()
        headers += [
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
    if origin is not None:
        headers.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        status = int(lines[0].split()[1])
        if status != 101:
            while len(body) < int(fields.get("content-length", "0")):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
    return status, fields, body


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("hosts")
    server = ServerProcess(f"sqlite:///{workdir / 'plenary.sqlite3'}", workdir)
    server.start()
    server.create_draft("plan-a", "Text.")
    yield server
    server.stop()


def test_dns_rebinding_gets_no_socket_and_no_data(served):
    token = Tokens()("chair")
    evil = f"evil.example:{served.port}"
    status, fields, body = handshake(served.port, f"/ws/plan-a?token={token}", evil, f"http://{evil}")
    assert status == 400
    assert fields["content-type"] == "application/problem+json"
    assert json.loads(body)["detail"] == "host 'evil.example' is not served here (PLENARY_ALLOWED_HOSTS)"
    status, fields, body = handshake(served.port, "/api/drafts", evil)
    assert status == 400 and b"not served here" in body
    # The same requests by the server's own name go through.
    here = f"127.0.0.1:{served.port}"
    assert handshake(served.port, f"/ws/plan-a?token={token}", here, f"http://{here}")[0] == 101
    assert handshake(served.port, f"/ws/plan-a?token={token}", f"localhost:{served.port}")[0] == 101
    # Liveness answers a probe by any name (it shows nothing to rebind for).
    assert handshake(served.port, "/healthz", evil)[0] == 200


def test_same_origin_compares_scheme_host_and_port(served):
    token = Tokens()("delegate")
    here = f"127.0.0.1:{served.port}"
    path = f"/ws/plan-a?token={token}"
    assert handshake(served.port, path, here, f"http://{here}")[0] == 101
    for origin in (
        f"https://{here}",  # an https page is not the origin of this http server
        f"http://127.0.0.1:{served.port + 1}",
        f"http://localhost:{served.port}",  # another host name, even if it is the same machine
        "null",
    ):
        status, _, _ = handshake(served.port, path, here, origin)
        assert status == 403, origin


def test_configured_hosts_replace_the_defaults(server_factory):
    server = server_factory(plenary_allowed_hosts="127.0.0.1,*.example.org")
    server.create_draft("plan-a")
    token = Tokens()("chair")
    name = f"app.example.org:{server.port}"
    assert handshake(server.port, f"/ws/plan-a?token={token}", name, f"http://{name}")[0] == 101
    assert handshake(server.port, f"/ws/plan-a?token={token}", f"localhost:{server.port}")[0] == 400
    assert (
        handshake(server.port, f"/ws/plan-a?token={token}", f"example.org.evil.example:{server.port}")[0]
        == 400
    )


def test_served_hosts_by_default_and_as_configured():
    from server.api.hosts import served_hosts

    assert served_hosts((), "127.0.0.1") == ["127.0.0.1", "localhost", "[::1]"]
    assert served_hosts((), "0.0.0.0") == ["127.0.0.1", "localhost", "[::1]"]  # not every name of the machine
    assert served_hosts((), "10.1.2.3")[-1] == "10.1.2.3"
    assert served_hosts(("plenary.example.org", "*.example.org"), "0.0.0.0") == [
        "plenary.example.org",
        "*.example.org",
    ]
    for bad, words in (("plenary.example.org:443", "without a port"), ("x*.example.org", "wildcard")):
        with pytest.raises(ValueError, match=words):
            served_hosts((bad,), "0.0.0.0")
