"""The browser app: ``GET /`` (its page) and ``/assets/…`` (its bundled scripts and styles).

The app is built from ``client/web`` into ``client/web/dist`` (committed, so the server needs no
Node.js): ``dist/index.html`` and ``dist/assets/`` with content-hashed names. No token is needed to
load any of it; the app sends the participant's token with every API call and websocket.

Caching: hashed assets never change, so they are cached for a year (``immutable``); the page is
revalidated every time (``no-cache`` with an ETag), so a new build is picked up at the next load.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

#: Where the built app lives (``PLENARY_WEB_DIST`` overrides it, e.g. for an installed package).
DIST = Path(os.environ.get("PLENARY_WEB_DIST") or Path(__file__).resolve().parent.parent / "client/web/dist")

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}

#: esbuild's ``[name]-[hash]`` file names: the content decides the name, so it may be cached forever.
HASHED = re.compile(r"-[A-Z0-9]{8}\.[a-z0-9]+$")
#: What an asset's name may be: the bundler's file names, in subfolders at most.
ASSET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(?:/[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}){0,3}")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

#: The page's policy: scripts, styles and connections from this origin only (CodeMirror injects its
#: own style elements, hence the inline styles); no framing; no referrer (the sign-in link carries a
#: token until the app removes it from the address bar).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


#: Worth compressing (the bundle is mostly text: a third of its size gzipped).
COMPRESSIBLE = {".js", ".mjs", ".css", ".map", ".json", ".svg", ".txt", ".html"}


@dataclass(frozen=True)
class _File:
    body: bytes
    etag: str
    stamp: tuple[int, int]
    gzipped: bytes | None


_cache: dict[Path, _File] = {}


def _read(path: Path) -> _File | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(path)
    if cached is not None and cached.stamp == stamp:
        return cached
    try:
        body = path.read_bytes()
    except OSError:
        return None
    packed = gzip.compress(body, compresslevel=9, mtime=0) if path.suffix.lower() in COMPRESSIBLE else None
    if packed is not None and len(packed) >= len(body):
        packed = None
    entry = _File(body, hashlib.sha256(body).hexdigest()[:32], stamp, packed)
    _cache[path] = entry
    return entry


def _respond(request: Request, entry: _File, content_type: str, headers: dict[str, str]) -> Response:
    body = entry.body
    etag = f'"{entry.etag}"'
    if entry.gzipped is not None:
        headers = {**headers, "Vary": "Accept-Encoding"}
        accepted = request.headers.get("accept-encoding", "").split(",")
        if "gzip" in [part.split(";")[0].strip() for part in accepted]:
            body = entry.gzipped
            etag = f'"{entry.etag}-gz"'
            headers["Content-Encoding"] = "gzip"
    headers = {**headers, "ETag": etag}
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    response = Response(b"" if request.method == "HEAD" else body, headers=headers, media_type=content_type)
    response.headers["Content-Length"] = str(len(body))
    return response


async def index(request: Request) -> Response:
    entry = _read(DIST / "index.html")
    if entry is None:
        return PlainTextResponse(
            "The web app is not built: run `npm ci && npm run build` in client/web.", status_code=503
        )
    return _respond(request, entry, "text/html; charset=utf-8", {**PAGE_HEADERS, "Cache-Control": REVALIDATE})


async def asset(request: Request) -> Response:
    name = request.path_params["path"]
    if not ASSET_NAME.fullmatch(name):
        # Not a name esbuild writes (a NUL, a control character, a very long name): never a path.
        raise HTTPException(404, f"no asset {name[:100]!r}")
    root = (DIST / "assets").resolve()
    path = (root / name).resolve()
    suffix = path.suffix.lower()
    if (
        not path.is_relative_to(root)
        or any(part.startswith(".") for part in Path(name).parts)
        or suffix not in CONTENT_TYPES
    ):
        raise HTTPException(404, f"no asset {name!r}")
    entry = _read(path)
    if entry is None:
        raise HTTPException(404, f"no asset {name!r}")
    cache = IMMUTABLE if HASHED.search(path.name) else REVALIDATE
    return _respond(
        request,
        entry,
        CONTENT_TYPES[suffix],
        {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )


def web_routes() -> list[BaseRoute]:
    """The app's routes, to mount beside the API."""
    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/assets/{path:path}", asset, methods=["GET", "HEAD"]),
    ]
