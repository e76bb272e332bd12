"""Who a connection or request is (participants, signed access tokens) and what it may do (roles, actions).

Also the browser Origin rule and the TTL syntax of the command line, since both decide who gets in.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import jwt

from crdt.errors import PlenaryError
from crdt.procedure.consensus import StakeholderGroup

__all__ = [
    "ALL_DRAFTS",
    "ANY_ORIGIN",
    "ISSUER",
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_TOKEN_BYTES",
    "MAX_TTL",
    "MIN_SECRET_BYTES",
    "PERMISSIONS",
    "TOKEN_LEEWAY",
    "Action",
    "AuthenticationError",
    "ExpiredTokenError",
    "InvalidClaimsError",
    "InvalidSignatureError",
    "MalformedTokenError",
    "MissingTokenError",
    "Participant",
    "PermissionDeniedError",
    "RevokedTokenError",
    "Role",
    "StakeholderGroup",
    "TokenIssuer",
    "TokenTooLargeError",
    "VerifiedToken",
    "demo_participants",
    "generate_secret",
    "normalize_origin",
    "origin_allowed",
    "parse_ttl",
]

# --- limits -------------------------------------------------------------------------------------

#: Longest participant id, draft id or token id. Ids end up in URLs, log lines and database keys;
#: anything longer than this is a mistake or an attack, not an identifier.
MAX_ID_LENGTH = 200
#: Longest display name or delegation name ("The United Kingdom of Great Britain and Northern Ireland"
#: is 56 characters); the cap keeps the presence list and the audit log readable.
MAX_NAME_LENGTH = 200
#: Largest token accepted, checked before any decoding so that a hostile client cannot make us
#: base64- and JSON-decode megabytes. Tokens are issued no larger than this either.
MAX_TOKEN_BYTES = 8 * 1024
#: HS256 keys shorter than the 256-bit hash output can be brute-forced offline from any one token.
MIN_SECRET_BYTES = 32
#: Longest token lifetime: a token cannot be recalled before it expires except by revocation, so a
#: negotiation session (days, not months) bounds it.
MAX_TTL = timedelta(days=30)
#: Clock skew tolerated between the machine that issued a token and the one that checks it.
TOKEN_LEEWAY = timedelta(seconds=30)
#: Languages one participant may translate into (a translator's ``languages`` claim).
MAX_LANGUAGES = 16
#: An ISO 639-1 (or 639-2) language code.
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
#: RFC 6455 limits a close frame's reason to 123 bytes of UTF-8.
_MAX_REASON_BYTES = 123

#: The `iss` claim of every token: refuses JWTs minted for another service that shares the secret.
ISSUER = "plenary"
#: The key of the roles mapping that applies to every draft without a role of its own.
ALL_DRAFTS = "*"

#: In the allowed-origins list, any origin.
ANY_ORIGIN = "*"

_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ("sub", "name", "delegation", "group", "roles", "iat", "exp", "jti", "iss")

# Explicit bidirectional embeddings, overrides and isolates: in a display name they can make one
# delegate's name render as another's ("Trojan Source"-style spoofing), so they are refused.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# --- roles, actions, permissions ----------------------------------------------------------------


class Role(StrEnum):
    """The capacity in which a participant takes part in a draft."""

    CHAIR = "chair"
    SECRETARIAT = "secretariat"
    DELEGATE = "delegate"
    OBSERVER = "observer"
    ARCHIVIST = "archivist"
    #: Keeps one or more language versions (the token's ``languages``), and only those.
    TRANSLATOR = "translator"


class Action(StrEnum):
    """Everything the server checks before letting a participant do something."""

    READ = "read"  # text, deliberation state, presence
    EDIT_TEXT = "edit_text"  # only while the draft is open for drafting (checked by the room)
    ANNOTATE = "annotate"
    PROPOSE_AMENDMENT = "propose_amendment"  # and withdraw one's own
    STATE_POSITION = "state_position"
    MANAGE_PROCESS = "manage_process"  # comment periods, paragraph status, locking the text
    DECIDE_AMENDMENT = "decide_amendment"  # adopt / reject
    SET_PROCEDURE = "set_procedure"  # procedure profile, editing modes, reopening agreed text
    READ_HISTORY = "read_history"  # full history, audit log, export
    READ_OWN_HISTORY = "read_own_history"  # one's own actions only
    MANAGE_PARTICIPANTS = "manage_participants"  # including revocation
    CREATE_DRAFT = "create_draft"
    TRANSLATE = "translate"  # edit and confirm translations (a translator: only in their languages)
    PRESIDE = "preside"  # open and close meetings, adopt the agenda, give the floor, establish Friends
    MANAGE_MEETINGS = "manage_meetings"  # convene meetings, propose agendas, summarise statements
    REQUEST_FLOOR = "request_floor"  # and withdraw the request, hand in one's statement
    SUBMIT_DOCUMENT = "submit_document"  # proposals, contributions, non-papers (and introduce them)
    READ_INFORMAL_RECORD = "read_informal_record"  # who said what in informal meetings


# Plain-string views for checking untrusted claim values (`"x" in Role` raises TypeError on 3.11).
_ROLE_VALUES = frozenset(r.value for r in Role)
_GROUP_VALUES = frozenset(g.value for g in StakeholderGroup)

#: What each role may do. Reading the full history includes reading one's own, so every role with
#: READ_HISTORY also holds READ_OWN_HISTORY and a single check of the narrower action suffices.
PERMISSIONS: Mapping[Role, frozenset[Action]] = MappingProxyType(
    {
        Role.CHAIR: frozenset(
            {
                Action.READ,
                Action.EDIT_TEXT,
                Action.ANNOTATE,
                Action.MANAGE_PROCESS,
                Action.DECIDE_AMENDMENT,
                Action.SET_PROCEDURE,
                Action.READ_HISTORY,
                Action.READ_OWN_HISTORY,
                Action.MANAGE_PARTICIPANTS,
                Action.CREATE_DRAFT,
                Action.PRESIDE,
                Action.MANAGE_MEETINGS,
                Action.SUBMIT_DOCUMENT,
                Action.READ_INFORMAL_RECORD,
            }
        ),
        Role.SECRETARIAT: frozenset(
            {
                Action.READ,
                Action.EDIT_TEXT,
                Action.ANNOTATE,
                Action.MANAGE_PROCESS,
                Action.READ_HISTORY,
                Action.READ_OWN_HISTORY,
                Action.MANAGE_PARTICIPANTS,
                Action.CREATE_DRAFT,
                Action.TRANSLATE,
                Action.MANAGE_MEETINGS,
                Action.SUBMIT_DOCUMENT,
                Action.READ_INFORMAL_RECORD,
            }
        ),
        Role.DELEGATE: frozenset(
            {
                Action.READ,
                Action.EDIT_TEXT,
                Action.ANNOTATE,
                Action.PROPOSE_AMENDMENT,
                Action.STATE_POSITION,
                Action.READ_OWN_HISTORY,
                Action.REQUEST_FLOOR,
                Action.SUBMIT_DOCUMENT,
            }
        ),
        Role.OBSERVER: frozenset(
            {Action.READ, Action.ANNOTATE, Action.REQUEST_FLOOR, Action.SUBMIT_DOCUMENT}
        ),
        Role.ARCHIVIST: frozenset(
            {Action.READ, Action.READ_HISTORY, Action.READ_OWN_HISTORY, Action.READ_INFORMAL_RECORD}
        ),
        Role.TRANSLATOR: frozenset({Action.READ, Action.ANNOTATE, Action.TRANSLATE}),
    }
)


# --- errors -------------------------------------------------------------------------------------


def _close_reason(reason: str) -> str:
    """Cut a reason to what fits in a websocket close frame, without splitting a character."""
    encoded = reason.encode()
    if len(encoded) <= _MAX_REASON_BYTES:
        return reason
    return encoded[:_MAX_REASON_BYTES].decode(errors="ignore")


class AuthenticationError(PlenaryError):
    """The caller could not be identified. `reason` is safe to send back: it never echoes the token."""

    #: CloseCode.UNAUTHENTICATED in server/sync/closecodes.py, mirroring HTTP 401.
    close_code = 4401
    http_status = 401

    def __init__(self, reason: str) -> None:
        self.reason = _close_reason(reason)
        super().__init__(self.reason)


class MissingTokenError(AuthenticationError):
    """No token at all was presented."""

    def __init__(self, reason: str = "missing access token") -> None:
        super().__init__(reason)


class MalformedTokenError(AuthenticationError):
    """Not a JWT: wrong number of segments, bad base64 or JSON, non-ASCII bytes."""


class TokenTooLargeError(MalformedTokenError):
    """Longer than MAX_TOKEN_BYTES; refused before decoding."""

    def __init__(self, reason: str = f"access token larger than {MAX_TOKEN_BYTES} bytes") -> None:
        super().__init__(reason)


class InvalidSignatureError(AuthenticationError):
    """Signed with another key or algorithm, or altered after signing."""


class ExpiredTokenError(AuthenticationError):
    """Correctly signed but past its `exp` (plus leeway)."""

    def __init__(self, reason: str = "access token expired") -> None:
        super().__init__(reason)


class InvalidClaimsError(AuthenticationError):
    """Correctly signed but the claims are missing, of the wrong type, out of range or unknown."""


class RevokedTokenError(AuthenticationError):
    """Valid, but its `jti` has been revoked. Raised by whoever keeps the revocation list."""

    #: The close-code table (server/sync/closecodes.py) files revocation under "forbidden": the caller
    #: is known, it has just lost its seat. Over HTTP it stays a 401, as for any unusable token.
    close_code = 4403

    def __init__(self, reason: str = "access token revoked") -> None:
        super().__init__(reason)


class PermissionDeniedError(PlenaryError):
    """The caller is known but its role does not allow the action on that draft."""

    #: CloseCode.FORBIDDEN in server/sync/closecodes.py, mirroring HTTP 403.
    close_code = 4403
    http_status = 403

    def __init__(self, reason: str) -> None:
        self.reason = _close_reason(reason)
        super().__init__(self.reason)


# --- participants -------------------------------------------------------------------------------


def _check_text(what: str, value: object, limit: int) -> str:
    """Return `value` if it is a usable non-blank string of at most `limit` characters."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    if not value.strip():
        raise ValueError(f"{what} must not be blank")
    if len(value) > limit:
        raise ValueError(f"{what} longer than {limit} characters")
    # Control characters would let a name forge lines in logs and exports; bidi controls would let
    # it disguise itself on screen.
    if any(unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in value):
        raise ValueError(f"{what} contains control characters")
    return value


@dataclass(frozen=True, slots=True)
class Participant:
    """One person at the table, in the capacities given by `roles`.

    `roles` maps ALL_DRAFTS ("*") and/or draft ids to a Role; a draft's own entry overrides the
    "*" entry. Values may be given as strings and are converted; the stored mapping is read-only.
    `languages` are the language codes a translator keeps (ISO 639-1, e.g. ``fr``); other roles ignore it.
    """

    id: str
    name: str
    delegation: str
    #: None for someone who sits for no stakeholder group (the Bureau and the secretariat on a roll).
    group: StakeholderGroup | None
    roles: Mapping[str, Role] = field(hash=False)
    languages: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _check_text("participant id", self.id, MAX_ID_LENGTH)
        _check_text("name", self.name, MAX_NAME_LENGTH)
        _check_text("delegation", self.delegation, MAX_NAME_LENGTH)
        if self.group is not None:
            object.__setattr__(self, "group", StakeholderGroup(self.group))
        if not isinstance(self.roles, Mapping):
            raise ValueError("roles must be a mapping of draft id (or '*') to role")
        if not self.roles:
            # A participant without any role could not even read; issuing a token for one is a mistake.
            raise ValueError("a participant needs at least one role")
        roles = {_check_text("draft id", k, MAX_ID_LENGTH): Role(v) for k, v in self.roles.items()}
        object.__setattr__(self, "roles", MappingProxyType(roles))
        languages = frozenset(self.languages)
        if len(languages) > MAX_LANGUAGES or not all(
            isinstance(code, str) and _LANGUAGE_CODE.fullmatch(code) for code in languages
        ):
            raise ValueError(f"languages must be at most {MAX_LANGUAGES} codes such as 'fr'")
        object.__setattr__(self, "languages", languages)

    def role_for(self, draft_id: str | None = None) -> Role | None:
        """The role on `draft_id` (the all-drafts role when None); None means no access."""
        if draft_id is not None and draft_id in self.roles:
            return self.roles[draft_id]
        return self.roles.get(ALL_DRAFTS)

    def may(self, action: Action, draft_id: str | None = None) -> bool:
        """Whether the role on `draft_id` allows `action`.

        Pass draft_id=None for actions that concern no particular draft (create_draft): only the
        all-drafts role counts then. Draft state (open for drafting, locked, comment deadlines) is
        not considered here; the room checks it on top.
        """
        role = self.role_for(draft_id)
        return role is not None and action in PERMISSIONS[role]

    def may_translate(self, language: str, draft_id: str | None = None) -> bool:
        """Whether this participant may edit and confirm the ``language`` version of ``draft_id``:
        a translator for that language, or the secretariat (which keeps every language version)."""
        if not self.may(Action.TRANSLATE, draft_id):
            return False
        return self.role_for(draft_id) != Role.TRANSLATOR or language in self.languages

    def require(self, action: Action, draft_id: str | None = None) -> None:
        """Raise PermissionDeniedError unless `may(action, draft_id)`."""
        if not self.may(action, draft_id):
            role = self.role_for(draft_id)
            where = "" if draft_id is None else " on this draft"
            if role is None:
                raise PermissionDeniedError(f"no access{where}")
            raise PermissionDeniedError(f"role {role} may not {action}{where}")


def demo_participants() -> tuple[Participant, ...]:
    """Ready-made participants for a development server, one per seat around a typical table."""
    everywhere = ALL_DRAFTS
    return (
        Participant(
            id="demo-chair",
            name="Chair",
            delegation="Bureau",
            group=StakeholderGroup.INTERNATIONAL_ORGANIZATION,
            roles={everywhere: Role.CHAIR},
        ),
        Participant(
            id="demo-switzerland",
            name="Delegate of Switzerland",
            delegation="Switzerland",
            group=StakeholderGroup.GOVERNMENT,
            roles={everywhere: Role.DELEGATE},
        ),
        Participant(
            id="demo-ccbi",
            name="Delegate of CCBI",
            delegation="CCBI",
            group=StakeholderGroup.PRIVATE_SECTOR,
            roles={everywhere: Role.DELEGATE},
        ),
        Participant(
            id="demo-civil-society",
            name="Delegate of the Civil Society Coalition",
            delegation="Civil Society Coalition",
            group=StakeholderGroup.CIVIL_SOCIETY,
            roles={everywhere: Role.DELEGATE},
        ),
        Participant(
            id="demo-observer",
            name="Observer",
            delegation="Academic Network",
            group=StakeholderGroup.TECHNICAL_ACADEMIC,
            roles={everywhere: Role.OBSERVER},
        ),
        Participant(
            id="demo-archivist",
            name="Archivist",
            delegation="Secretariat",
            group=StakeholderGroup.INTERNATIONAL_ORGANIZATION,
            roles={everywhere: Role.ARCHIVIST},
        ),
    )


# --- tokens -------------------------------------------------------------------------------------


def generate_secret() -> str:
    """A fresh server secret: 48 random bytes (384 bits), URL-safe base64."""
    return secrets.token_urlsafe(48)


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token that passed verification, with what the session layer needs beyond the participant:
    `token_id` (the `jti`, for revocation) and `expires_at` (to end a connection that outlives it).
    """

    participant: Participant
    token_id: str
    issued_at: datetime
    expires_at: datetime


def _utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        # A naive datetime would be read as local time and shift every expiry by the UTC offset.
        raise ValueError("now must be timezone-aware")
    return now


def _int_claim(claims: Mapping[str, Any], name: str) -> int:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidClaimsError(f"claim {name!r} must be an integer timestamp")
    return value


class TokenIssuer:
    """Issues and verifies HS256 access tokens signed with one server secret."""

    __slots__ = ("_leeway", "_secret")

    def __init__(self, secret: str, *, leeway: timedelta = TOKEN_LEEWAY) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"token secret must be at least {MIN_SECRET_BYTES} bytes (HS256 with a shorter secret "
                "can be brute-forced); create one with `plenary secret`"
            )
        self._secret = secret
        self._leeway = leeway

    def __repr__(self) -> str:
        # Never let the secret reach a log line or a traceback.
        return f"{type(self).__name__}(secret=<hidden>, leeway={self._leeway!r})"

    def issue(self, participant: Participant, ttl: timedelta, *, now: datetime | None = None) -> str:
        """A signed token for `participant`, valid for `ttl` (at most MAX_TTL) from `now`."""
        if not timedelta(0) < ttl <= MAX_TTL:
            raise ValueError(f"token lifetime must be positive and at most {MAX_TTL.days} days")
        issued = int(_utc_now(now).timestamp())
        claims = {
            "iss": ISSUER,
            "sub": participant.id,
            "name": participant.name,
            "delegation": participant.delegation,
            "group": str(participant.group or ""),
            "roles": {draft: str(role) for draft, role in participant.roles.items()},
            **({"languages": sorted(participant.languages)} if participant.languages else {}),
            "iat": issued,
            "exp": issued + int(ttl.total_seconds()),
            "jti": secrets.token_urlsafe(16),
        }
        token = jwt.encode(claims, self._secret, algorithm=_ALGORITHM)
        if len(token) > MAX_TOKEN_BYTES:
            # verify() would refuse it; better to fail at the CLI than at the door.
            raise ValueError(f"token would exceed {MAX_TOKEN_BYTES} bytes; too many per-draft roles")
        return token

    def verify(self, token: str | None, now: datetime | None = None) -> Participant:
        """The participant a token stands for, or an AuthenticationError subclass."""
        return self.verify_token(token, now).participant

    def verify_token(self, token: str | None, now: datetime | None = None) -> VerifiedToken:
        """Like verify(), but also returns the token id and validity period."""
        if token is None or (isinstance(token, str) and not token.strip()):
            raise MissingTokenError()
        if not isinstance(token, str):
            raise MalformedTokenError("access token must be a string")
        # Checked before any decoding. A JWT is ASCII, so once that holds characters are bytes, and
        # a string with more characters than the limit has at least as many bytes.
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenTooLargeError()
        if not token.isascii():
            raise MalformedTokenError("access token is not a JWT")
        current = _utc_now(now).timestamp()
        leeway = self._leeway.total_seconds()

        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                # Time claims are checked below against `now`, which PyJWT cannot be given.
                options={
                    "require": list(_REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidSignatureError as exc:  # a subclass of DecodeError, so it comes first
            raise InvalidSignatureError("access token signature does not verify") from exc
        except jwt.InvalidAlgorithmError as exc:
            raise InvalidSignatureError("access token not signed with HS256") from exc
        except jwt.DecodeError as exc:
            raise MalformedTokenError("access token is not a JWT") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidClaimsError(f"access token lacks claim {exc.claim!r}") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidClaimsError("access token not issued by plenary") from exc
        except jwt.InvalidTokenError as exc:  # audience, subject or jti of the wrong type, ...
            raise InvalidClaimsError("access token has invalid claims") from exc

        issued_at = _int_claim(claims, "iat")
        expires_at = _int_claim(claims, "exp")
        if expires_at <= issued_at:
            raise InvalidClaimsError("access token expires before it was issued")
        if issued_at > current + leeway:
            raise InvalidClaimsError("access token issued in the future")
        if "nbf" in claims and _int_claim(claims, "nbf") > current + leeway:
            raise InvalidClaimsError("access token not yet valid")
        if expires_at <= current - leeway:
            raise ExpiredTokenError()

        token_id = claims["jti"]
        roles = claims["roles"]
        if not isinstance(roles, dict):
            raise InvalidClaimsError("claim 'roles' must map draft ids to roles")
        # Values are checked here, not only in Participant, so the reason names the claim; the
        # unknown value itself is never echoed (it is attacker-controlled and unbounded).
        if not all(isinstance(r, str) and r in _ROLE_VALUES for r in roles.values()):
            raise InvalidClaimsError("claim 'roles' contains an unknown role")
        # "" for someone who sits for no group (the Bureau, the secretariat).
        if not isinstance(claims["group"], str) or claims["group"] not in _GROUP_VALUES | {""}:
            raise InvalidClaimsError("claim 'group' is not a known stakeholder group")
        try:
            _check_text("token id", token_id, MAX_ID_LENGTH)
            languages = claims.get("languages", [])
            if not isinstance(languages, list) or not all(isinstance(code, str) for code in languages):
                raise ValueError("claim 'languages' must be a list of language codes")
            participant = Participant(
                id=claims["sub"],
                name=claims["name"],
                delegation=claims["delegation"],
                group=StakeholderGroup(claims["group"]) if claims["group"] else None,
                roles=roles,
                languages=frozenset(languages),
            )
        except ValueError as exc:
            raise InvalidClaimsError(f"access token has invalid claims: {exc}") from exc
        return VerifiedToken(
            participant=participant,
            token_id=token_id,
            issued_at=datetime.fromtimestamp(issued_at, UTC),
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )


# --- token lifetimes ----------------------------------------------------------------------------

_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Ten digits is already far beyond MAX_TTL in any unit; the bound keeps int() and timedelta() safe.
_TTL_PATTERN = re.compile(r"(\d{1,10})([smhd])")


def parse_ttl(text: str) -> timedelta:
    """Parse a lifetime such as "90s", "30m", "8h" or "2d" (one number, one unit) up to MAX_TTL."""
    match = _TTL_PATTERN.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(
            f"invalid lifetime {text[:40]!r}: expected a number and a unit s, m, h or d (e.g. 8h)"
        )
    seconds = int(match.group(1)) * _TTL_UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("lifetime must be positive")
    if seconds > MAX_TTL.total_seconds():
        raise ValueError(f"lifetime {text.strip()!r} exceeds the maximum of {MAX_TTL.days} days")
    return timedelta(seconds=seconds)


# --- browser origins ----------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _split_origin(value: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a serialised origin, with the scheme's default port filled in."""
    # A serialised origin is scheme://host[:port]; one trailing slash is tolerated because
    # administrators paste URLs into configuration.
    parts = urlsplit(value.strip().removesuffix("/"))
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or parts.path or parts.query or parts.fragment:
        raise ValueError(f"not an origin: {value[:80]!r}")
    if parts.username is not None or parts.password is not None or not parts.hostname:
        raise ValueError(f"not an origin: {value[:80]!r}")
    port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    return scheme, parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS[scheme]


def normalize_origin(value: str) -> str:
    """The canonical form of an origin ("HTTPS://Example.org:443/" -> "https://example.org").

    Raises ValueError for anything that is not scheme://host[:port]; use it to validate the
    allowed-origins configuration at start-up.
    """
    scheme, host, port = _split_origin(value)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}" if port == _DEFAULT_PORTS[scheme] else f"{scheme}://{host}:{port}"


#: The page scheme that goes with a request's (a websocket's ``ws`` is opened from an ``http`` page).
_PAGE_SCHEMES = {"http": "http", "ws": "http", "https": "https", "wss": "https"}


def _same_origin(origin: str, host_header: str, request_scheme: str) -> bool:
    scheme, origin_host, origin_port = _split_origin(origin)
    page_scheme = _PAGE_SCHEMES.get(request_scheme.lower())
    if page_scheme is None or scheme != page_scheme:
        return False  # an https page is not the origin of an http request, nor the reverse
    host = urlsplit("//" + host_header.strip())
    if not host.hostname or host.path or host.query or host.username is not None:
        return False
    port = host.port if host.port is not None else _DEFAULT_PORTS[scheme]
    return host.hostname.lower() == origin_host and port == origin_port


def origin_allowed(origin: str | None, allowed: Sequence[str], host: str | None, *, scheme: str) -> bool:
    """Whether a request carrying `origin` may proceed (protects against cross-site websocket hijacking).

    - No Origin header (None): allowed. Only browsers send one, and non-browser clients could forge
      it anyway; they are held back by the token, not by this check.
    - "*" in `allowed`: every origin is allowed, including the opaque origin "null" (development).
    - Otherwise `allowed` lists exact origins ("https://plenary.example.org"), compared after
      normalisation (case, default port, trailing slash); malformed entries match nothing.
    - `allowed` empty: same-origin only, i.e. the Origin's scheme is the request's (`scheme`: ws or
      http → http, wss or https → https) and its host and port equal the request's Host header (a Host
      without port means the scheme's default port). Behind a reverse proxy that rewrites Host or
      terminates TLS without passing X-Forwarded-Proto, list the public origin explicitly instead.
      The Host itself is checked before this, against PLENARY_ALLOWED_HOSTS (DNS rebinding).
    - An Origin that is not scheme://host[:port] (including "null" and "") is refused.
    """
    if origin is None:
        return True
    if ANY_ORIGIN in allowed:
        return True
    try:
        if not allowed:
            return host is not None and _same_origin(origin, host, scheme)
        wanted = normalize_origin(origin)
    except ValueError:
        return False
    return any(wanted == entry for entry in _normalized(allowed))


def _normalized(entries: Iterable[str]) -> Iterable[str]:
    for entry in entries:
        try:
            yield normalize_origin(entry)
        except ValueError:
            continue


class RedactTokens(logging.Filter):
    """Keeps bearer tokens out of logs: y-websocket clients send theirs in the URL's
    query string, which uvicorn's access lines would otherwise print in full."""

    _pattern = re.compile(r"(token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                self._pattern.sub(r"\1…", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str) and "token=" in record.msg:
            record.msg = self._pattern.sub(r"\1…", record.msg)
        return True
