#!/usr/bin/env bash
# Install the peer Yjs servers bench/workloads.py --peers compares Plenary with, OUTSIDE the repository:
#   $PLENARY_BENCH_PEERS (default ~/.cache/plenary-bench/peers)/
#     pycrdt-venv/        a venv with pycrdt-websocket==0.16.5 and uvicorn
#     pycrdt_launch.py    runs ASGIServer(WebsocketServer()) under uvicorn on 127.0.0.1:PORT
#     node/               npm @y/websocket-server@0.1.1 (0.1.5 needs an unpublished Yjs 14 prerelease)
# Idempotent; re-run to repair. Needs python3 (with venv) and node/npm on PATH.
set -euo pipefail

PEERS="${PLENARY_BENCH_PEERS:-$HOME/.cache/plenary-bench/peers}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$PEERS"
echo "installing peers into $PEERS"

# pycrdt-websocket, in its own venv.
if [ ! -x "$PEERS/pycrdt-venv/bin/python" ]; then
    "$PYTHON" -m venv "$PEERS/pycrdt-venv"
fi
timeout 600 "$PEERS/pycrdt-venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "pycrdt-websocket==0.16.5" uvicorn websockets

cat >"$PEERS/pycrdt_launch.py" <<'EOF'
"""pycrdt-websocket under uvicorn: python pycrdt_launch.py PORT (loopback only, rooms by URL path)."""

import asyncio
import sys

from pycrdt.websocket import ASGIServer, WebsocketServer
from uvicorn import Config, Server


async def main(port: int) -> None:
    websocket_server = WebsocketServer()
    app = ASGIServer(websocket_server)
    server = Server(Config(app, host="127.0.0.1", port=port, log_level="warning", ws_max_size=64 * 1024 * 1024))
    async with websocket_server:
        await server.serve()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
EOF

# @y/websocket-server (the y-websocket server), no persistence.
mkdir -p "$PEERS/node"
if [ ! -f "$PEERS/node/package.json" ]; then
    printf '{"name": "plenary-bench-peers", "private": true}\n' >"$PEERS/node/package.json"
fi
(cd "$PEERS/node" && timeout 600 npm install --no-audit --no-fund --silent "@y/websocket-server@0.1.1")

"$PEERS/pycrdt-venv/bin/python" -c "import pycrdt.websocket, uvicorn; print('pycrdt-websocket ok')"
test -f "$PEERS/node/node_modules/@y/websocket-server/src/server.js" && echo "@y/websocket-server ok"
