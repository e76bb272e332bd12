"""A real OpenID Connect provider for the tests, built with authlib's server side and served by uvicorn:
discovery, JWKS, an authorize endpoint with a sign-in form, a token endpoint (authorization code with
PKCE required, client secret checked, ID tokens signed RS256 with a key made at start).

Run: ``python -m tests.oidc_provider PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI USERS_JSON`` where
USERS_JSON lists ``{"username", "password", "sub", "email", "name"}``.
"""

from __future__ import annotations

import html
import json
import secrets
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import uvicorn
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uri: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in ("openid", "email", "profile"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: dict[str, str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class _Request(OAuth2Request):
    """An OAuth 2 request from a Starlette one whose form (or query) was read already."""

    def __init__(self, request: Request, data: dict[str, str]) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self.payload = BasicOAuth2Payload(data)
        self._query = dict(request.query_params)
        self._form = data

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


class Provider:
    def __init__(self, issuer: str, client: Client, users: list[dict[str, str]]) -> None:
        self.issuer = issuer
        self.client = client
        self.users = {u["username"]: u for u in users}
        self.codes: dict[str, Code] = {}
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        provider = self

        class Grant(AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")

            def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
                data = request.payload.data
                provider.codes[code] = Code(
                    code,
                    request.client.get_client_id(),
                    request.payload.redirect_uri,
                    request.payload.scope,
                    request.user,
                    data.get("nonce"),
                    data.get("code_challenge"),
                    data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found is not None and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> dict[str, str]:
                return authorization_code.user

        class IdTokens(OpenIDCode):
            def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
                return any(code.nonce == nonce for code in provider.codes.values())

            def resolve_client_private_key(self, client: Client) -> Any:
                return provider.key

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.issuer, "aud": [client.client_id], "exp": int(time.time()) + 300}

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": "test-key"}

            def generate_user_info(self, user: dict[str, str], scope: str) -> UserInfo:
                info = UserInfo(sub=user["sub"], name=user["name"])
                if "email" in scope and user.get("email"):
                    info["email"] = user["email"]
                    info["email_verified"] = True
                return info

        class Server(AuthorizationServer):
            def query_client(self, client_id: str) -> Client | None:
                return provider.client if client_id == provider.client.client_id else None

            def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
                pass

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                pass

            def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
                return request  # built from the Starlette request already (Provider.request)

            def handle_response(self, status: int, body: Any, headers: Any) -> Response:
                if isinstance(body, dict):
                    return JSONResponse(body, status_code=status, headers=dict(headers))
                return Response(body, status_code=status, headers=dict(headers))

        self.server = Server()
        self.server.register_token_generator(
            "default", BearerTokenGenerator(lambda *a, **k: secrets.token_urlsafe(32))
        )
        self.server.register_grant(Grant, [CodeChallenge(required=True), IdTokens(require_nonce=True)])

    def request(self, request: Request, data: dict[str, str]) -> OAuth2Request:
        return _Request(request, data)

    async def discovery(self, request: Request) -> JSONResponse:
        base = self.issuer
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["openid", "email", "profile"],
            }
        )

    async def jwks(self, request: Request) -> JSONResponse:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    async def authorize(self, request: Request) -> Response:
        query = dict(request.query_params)
        if request.method == "GET":
            grant = self.server.get_consent_grant(self.request(request, query))
            hidden = "".join(
                f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
                for k, v in query.items()
            )
            return HTMLResponse(
                "<!doctype html><title>Test identity provider</title><h1>Sign in to the test provider</h1>"
                f"<p>{html.escape(grant.client.client_id)} asks who you are.</p>"
                f"<form method='post' action='/authorize?{html.escape(urlencode(query))}'>{hidden}"
                "<label>Username <input name='username'></label>"
                "<label>Password <input name='password' type='password'></label>"
                "<button type='submit'>Sign in</button></form>"
            )
        form = await _form(request)
        user = self.users.get(form.get("username", ""))
        if user is None or not secrets.compare_digest(form.get("password", ""), user["password"]):
            return HTMLResponse("<p role='alert'>Wrong username or password</p>", status_code=401)
        return self.server.create_authorization_response(self.request(request, query), grant_user=user)

    async def token(self, request: Request) -> Response:
        form = await _form(request)
        return self.server.create_token_response(self.request(request, form))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize, methods=["GET", "POST"]),
                Route("/token", self.token, methods=["POST"]),
            ]
        )


async def _form(request: Request) -> dict[str, str]:
    # application/x-www-form-urlencoded, read by hand: Starlette's form parser needs python-multipart.
    return dict(parse_qsl((await request.body()).decode()))


def main() -> None:
    port, client_id, client_secret, redirect_uri, users = sys.argv[1:6]
    issuer = f"http://127.0.0.1:{port}"
    provider = Provider(issuer, Client(client_id, client_secret, redirect_uri), json.loads(users))
    uvicorn.run(provider.app(), host="127.0.0.1", port=int(port), log_level="warning")


if __name__ == "__main__":
    main()
