"""Signing in as a person on the roll, through the organisation's OpenID Connect provider.

Authorization code flow with PKCE (``authlib``): ``GET /auth/oidc/login[?draft=ID]`` sends the browser
to the provider; ``GET /auth/oidc/callback`` takes the code back, exchanges it (with the client secret
and the PKCE verifier), checks the ID token (signature against the provider's keys, issuer, audience,
nonce, expiry), and matches the provider's subject, else its verified e-mail, to a person on the roll of
the draft (or of every draft, without ``draft``). The server then issues its own short-lived access
token for the drafts that person is on, with the capacity the roll gives them, and hands the browser to
the web app with it. Nothing is stored on the server between the two requests: the state, nonce and
verifier travel in a signed, HttpOnly cookie, so any process of a cluster can finish a sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import secrets
import time
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from server.config import Settings
from server.identity import Participant, TokenIssuer
from server.procedure.drafts import list_drafts
from server.procedure.roll import States, roll_of, seated

# authlib, joserfc and httpx (with what they import: 0.2 s of every server start) are imported by
# the sign-in itself, not by every process that never has one.
if TYPE_CHECKING:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

log = logging.getLogger("plenary.signin")

COOKIE = "plenary_signin"
#: A sign-in left half-way is forgotten after this long (seconds).
SIGN_IN_SECONDS = 600
#: The provider's metadata and keys are fetched again after this long (seconds).
METADATA_SECONDS = 3600
_PATH = "/auth/oidc"


class SignInRefused(Exception):
    """A sign-in that cannot go on; ``detail`` is shown to the person, ``status`` is the HTTP status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class SignIn:
    """The relying party: one per process, configured from the settings."""

    def __init__(self, settings: Settings, tokens: TokenIssuer, states: States) -> None:
        self.settings = settings
        self.tokens = tokens
        self.states = states
        self._key = hashlib.blake2b(
            (settings.secret or "").encode(), person=b"plenary-signin", digest_size=32
        ).digest()
        self._metadata: dict[str, Any] | None = None
        self._fetched = 0.0

    @property
    def enabled(self) -> bool:
        s = self.settings
        return bool(s.oidc_issuer and s.oidc_client_id and s.oidc_client_secret)

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        with warnings.catch_warnings():
            # authlib 1.9 prefers the httpx2 package and says so on import; httpx is what this project uses.
            warnings.simplefilter("ignore", DeprecationWarning)
            from authlib.integrations.httpx_client import AsyncOAuth2Client

        return AsyncOAuth2Client(
            client_id=self.settings.oidc_client_id,
            client_secret=self.settings.oidc_client_secret,
            scope="openid email profile",
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=10,
        )

    async def metadata(self, *, force: bool = False) -> dict[str, Any]:
        """The provider's discovery document, with its keys (``jwks``)."""
        if self._metadata is not None and not force and time.monotonic() - self._fetched < METADATA_SECONDS:
            return self._metadata
        import httpx

        issuer = (self.settings.oidc_issuer or "").rstrip("/")
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(f"{issuer}/.well-known/openid-configuration")
                response.raise_for_status()
                metadata = response.json()
                missing = [
                    k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if k not in metadata
                ]
                if missing:
                    raise SignInRefused(
                        502, f"the identity provider's discovery document lacks {', '.join(missing)}"
                    )
                if metadata.get("issuer", "").rstrip("/") != issuer:
                    raise SignInRefused(502, "the identity provider names another issuer than configured")
                keys = await client.get(metadata["jwks_uri"])
                keys.raise_for_status()
                metadata["jwks"] = keys.json()
        except SignInRefused:
            raise
        except Exception as exc:
            log.warning("OpenID Connect discovery at %s failed: %s", issuer, exc)
            raise SignInRefused(502, "the identity provider cannot be reached; try again later") from exc
        self._metadata, self._fetched = metadata, time.monotonic()
        return metadata

    def redirect_uri(self, request: Request) -> str:
        return self.settings.oidc_redirect_url or str(request.url_for("oidc_callback"))

    # The signed cookie that carries a sign-in from the login to the callback.

    def _seal(self, data: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}.{mac}"

    def _open(self, value: str | None) -> dict[str, Any]:
        body, _, mac = (value or "").rpartition(".")
        expected = hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()
        if not body or not hmac.compare_digest(mac, expected):
            raise SignInRefused(400, "this sign-in was not started here, or its cookie was lost: start again")
        data = json.loads(base64.urlsafe_b64decode(body))
        if data.get("expires", 0) < time.time():
            raise SignInRefused(400, "this sign-in took too long: start again")
        return data  # type: ignore[no-any-return]

    # The two steps.

    async def login(self, request: Request) -> Response:
        draft = request.query_params.get("draft") or None
        metadata = await self.metadata()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 allows 43 to 128
        async with self._client(self.redirect_uri(request)) as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
            )
        response = RedirectResponse(url, status_code=303)
        sealed = self._seal(
            {
                "state": state,
                "nonce": nonce,
                "verifier": verifier,
                "draft": draft,
                "expires": time.time() + SIGN_IN_SECONDS,
            }
        )
        response.set_cookie(
            COOKIE,
            sealed,
            max_age=SIGN_IN_SECONDS,
            path=_PATH,
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="lax",  # the provider sends the browser back with a top-level GET
        )
        return response

    async def callback(self, request: Request) -> Response:
        params = request.query_params
        if params.get("error"):
            raise SignInRefused(
                403, f"the identity provider refused: {params.get('error_description') or params['error']}"
            )
        pending = self._open(request.cookies.get(COOKIE))
        if not params.get("state") or not hmac.compare_digest(params["state"], pending["state"]):
            raise SignInRefused(400, "the sign-in's state does not match: start again")
        code = params.get("code")
        if not code:
            raise SignInRefused(400, "the identity provider sent no authorization code")
        metadata = await self.metadata()
        try:
            async with self._client(self.redirect_uri(request)) as client:
                token = await client.fetch_token(
                    metadata["token_endpoint"], code=code, code_verifier=pending["verifier"]
                )
        except Exception as exc:
            log.info("the token request failed: %s", exc)
            raise SignInRefused(403, "the identity provider did not accept the sign-in") from exc
        claims = await self._id_token(token, pending["nonce"], metadata)
        participant = await self._participant(claims, pending.get("draft"))
        issued = self.tokens.issue(participant, timedelta(seconds=self.settings.oidc_token_ttl_seconds))
        drafts = [d for d in participant.roles if d != "*"]
        where = f"#/drafts/{quote(drafts[0], safe='')}" if len(drafts) == 1 else "#/"
        response = RedirectResponse(f"/?{urlencode({'token': issued})}{where}", status_code=303)
        response.delete_cookie(COOKIE, path=_PATH)
        log.info("signed in %s through the identity provider (%s)", participant.id, ", ".join(drafts))
        return response

    async def _id_token(self, token: dict[str, Any], nonce: str, metadata: dict[str, Any]) -> dict[str, Any]:
        from authlib.oidc.core import CodeIDToken
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet
        from joserfc.jws import JWSRegistry

        raw = token.get("id_token")
        if not raw:
            raise SignInRefused(403, "the identity provider sent no ID token")
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
        try:
            try:
                decoded = jwt.decode(raw, KeySet.import_key_set(metadata["jwks"]), registry=registry)
            except JoseError:
                fresh = await self.metadata(force=True)  # the provider may have rotated its keys
                decoded = jwt.decode(raw, KeySet.import_key_set(fresh["jwks"]), registry=registry)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {"iss": {"values": [metadata["issuer"]]}},
                {
                    "nonce": nonce,
                    "client_id": self.settings.oidc_client_id,
                    "access_token": token.get("access_token"),
                },
            )
            claims.validate(leeway=60)
        except (JoseError, ValueError) as exc:
            log.info("an ID token was refused: %s", exc)
            raise SignInRefused(403, "the identity provider's ID token does not verify") from exc
        return dict(claims)

    async def _participant(self, claims: dict[str, Any], draft: str | None) -> Participant:
        """The person the provider vouched for, on the roll of ``draft`` (or of every draft)."""
        subject = claims.get("sub")
        email = claims.get("email") if claims.get("email_verified") is not False else None
        drafts = [draft] if draft else [d.id for d in await list_drafts(self.states.database)]
        seats: list[Participant] = []
        for draft_id in drafts:
            roll = await roll_of(self.states, draft_id)
            if roll is None:
                continue
            person = (roll.by_subject(subject) if isinstance(subject, str) else None) or (
                roll.by_email(email) if isinstance(email, str) else None
            )
            if person is not None:
                seats.append(seated(roll, person, draft_id))
        if not seats:
            where = f"the roll of {draft}" if draft else "the roll of any draft"
            raise SignInRefused(403, f"you signed in, but you are not on {where}: ask its secretariat")
        first = seats[0]
        roles = {d: role for seat in seats for d, role in seat.roles.items()}
        return Participant(first.id, first.name, first.delegation, first.group, roles)


def _page(status: int, detail: str) -> HTMLResponse:
    body = (
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>Sign-in · Plenary</title>"
        f"<main><h1>Sign-in</h1><p role='alert'>{html.escape(detail)}</p>"
        "<p><a href='/'>Back to Plenary</a></p></main>"
    )
    return HTMLResponse(body, status_code=status)


def signin_routes(signin: SignIn) -> list[Route]:
    async def info(_request: Request) -> JSONResponse:
        """Whether sign-in through an identity provider is offered (the web app's sign-in page asks)."""
        return JSONResponse(
            {"enabled": signin.enabled, "login": f"{_PATH}/login" if signin.enabled else None}
        )

    async def login(request: Request) -> Response:
        if not signin.enabled:
            return _page(404, "sign-in through an identity provider is not configured on this server")
        try:
            return await signin.login(request)
        except SignInRefused as exc:
            return _page(exc.status, exc.detail)

    async def callback(request: Request) -> Response:
        if not signin.enabled:
            return _page(404, "sign-in through an identity provider is not configured on this server")
        try:
            return await signin.callback(request)
        except SignInRefused as exc:
            response = _page(exc.status, exc.detail)
            response.delete_cookie(COOKIE, path=_PATH)
            return response

    return [
        Route(_PATH, info),
        Route(f"{_PATH}/login", login),
        Route(f"{_PATH}/callback", callback, name="oidc_callback"),
    ]
