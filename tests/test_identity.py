"""Tests for server.identity: the permission table, participants, access tokens, TTLs and origins."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from crdt.errors import PlenaryError
from server.identity import (
    ALL_DRAFTS,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TOKEN_BYTES,
    MAX_TTL,
    PERMISSIONS,
    TOKEN_LEEWAY,
    Action,
    AuthenticationError,
    ExpiredTokenError,
    InvalidClaimsError,
    InvalidSignatureError,
    MalformedTokenError,
    MissingTokenError,
    Participant,
    PermissionDeniedError,
    RevokedTokenError,
    Role,
    StakeholderGroup,
    TokenIssuer,
    TokenTooLargeError,
    demo_participants,
    generate_secret,
    normalize_origin,
    origin_allowed,
    parse_ttl,
)

SECRET = "s" * 40 + "-test-secret-not-for-production"  # 64+ bytes: PyJWT warns below that for HS512
NOW = datetime(2025, 5, 31, 12, 0, tzinfo=UTC)

# --- permission table -----------------------------------------------------------------------------

# Transcribed from the specification, column by column; deliberately not derived from PERMISSIONS.
ROLES_IN_COLUMN_ORDER = ("chair", "secretariat", "delegate", "observer", "archivist", "translator")
TABLE = {
    "read": "✓ ✓ ✓ ✓ ✓ ✓",
    "edit_text": "✓ ✓ ✓ – – –",
    "annotate": "✓ ✓ ✓ ✓ – ✓",
    "propose_amendment": "– – ✓ – – –",
    "state_position": "– – ✓ – – –",
    "manage_process": "✓ ✓ – – – –",
    "decide_amendment": "✓ – – – – –",
    "read_history": "✓ ✓ – – ✓ –",
    "read_own_history": "✓ ✓ ✓ – ✓ –",
    "manage_participants": "✓ ✓ – – – –",
    "create_draft": "✓ ✓ – – – –",
    "preside": "✓ – – – – –",
    "set_procedure": "✓ – – – – –",
    "manage_meetings": "✓ ✓ – – – –",
    "request_floor": "– – ✓ ✓ – –",
    "submit_document": "✓ ✓ ✓ ✓ – –",
    "read_informal_record": "✓ ✓ – – ✓ –",
    "translate": "– ✓ – – – ✓",
}
CELLS = [
    (role, action, mark == "✓")
    for action, row in TABLE.items()
    for role, mark in zip(ROLES_IN_COLUMN_ORDER, row.split(), strict=True)
]


def make(roles: dict[str, Role | str], **overrides: object) -> Participant:
    fields: dict[str, object] = {
        "id": "p-1",
        "name": "Delegate of Switzerland",
        "delegation": "Switzerland",
        "group": StakeholderGroup.GOVERNMENT,
        "roles": roles,
    }
    fields.update(overrides)
    return Participant(**fields)  # type: ignore[arg-type]


def test_table_covers_exactly_the_enums() -> None:
    assert set(TABLE) == {a.value for a in Action}
    assert set(ROLES_IN_COLUMN_ORDER) == {r.value for r in Role}
    assert set(PERMISSIONS) == set(Role)


@pytest.mark.parametrize(("role", "action", "allowed"), CELLS, ids=[f"{r}-{a}" for r, a, _ in CELLS])
def test_permission_cell(role: str, action: str, allowed: bool) -> None:
    assert (Action(action) in PERMISSIONS[Role(role)]) is allowed
    everywhere = make({ALL_DRAFTS: role})
    assert everywhere.may(Action(action), "draft-1") is allowed
    assert everywhere.may(Action(action)) is allowed
    on_one_draft = make({"draft-1": role})
    assert on_one_draft.may(Action(action), "draft-1") is allowed


def test_permissions_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        PERMISSIONS[Role.OBSERVER] = frozenset(Action)  # type: ignore[index]


# --- participants ---------------------------------------------------------------------------------


def test_per_draft_role_overrides_all_drafts_role() -> None:
    p = make({ALL_DRAFTS: Role.OBSERVER, "draft-7": Role.DELEGATE})
    assert p.role_for("draft-7") is Role.DELEGATE
    assert p.role_for("draft-8") is Role.OBSERVER
    assert p.role_for(None) is Role.OBSERVER
    assert p.may(Action.PROPOSE_AMENDMENT, "draft-7")
    assert not p.may(Action.PROPOSE_AMENDMENT, "draft-8")


def test_per_draft_role_can_also_narrow() -> None:
    p = make({ALL_DRAFTS: Role.CHAIR, "draft-7": Role.OBSERVER})
    assert not p.may(Action.DECIDE_AMENDMENT, "draft-7")
    assert p.may(Action.DECIDE_AMENDMENT, "draft-8")


def test_no_role_means_no_access() -> None:
    p = make({"draft-7": Role.DELEGATE})
    assert p.role_for("draft-8") is None
    assert p.role_for(None) is None
    assert not any(p.may(action, "draft-8") for action in Action)
    # Global actions use the all-drafts role only, so a per-draft chair cannot create drafts.
    chair_of_one = make({"draft-7": Role.CHAIR})
    assert chair_of_one.may(Action.DECIDE_AMENDMENT, "draft-7")
    assert not chair_of_one.may(Action.CREATE_DRAFT)


def test_require_raises_permission_denied() -> None:
    p = make({ALL_DRAFTS: Role.OBSERVER})
    p.require(Action.ANNOTATE, "d")
    with pytest.raises(PermissionDeniedError) as info:
        p.require(Action.EDIT_TEXT, "d")
    assert info.value.close_code == 4403
    assert "observer" in info.value.reason
    with pytest.raises(PermissionDeniedError, match="no access"):
        make({"d": Role.DELEGATE}).require(Action.READ, "other")
    assert issubclass(PermissionDeniedError, PlenaryError)


def test_participant_converts_and_freezes_roles() -> None:
    roles = {"*": "delegate"}
    p = make(roles)  # type: ignore[arg-type]
    assert p.roles == {"*": Role.DELEGATE}
    assert isinstance(p.roles["*"], Role)
    roles["*"] = "chair"
    assert p.role_for("x") is Role.DELEGATE  # a copy was taken
    with pytest.raises(TypeError):
        p.roles["x"] = Role.CHAIR  # type: ignore[index]
    assert hash(p) == hash(make({"*": Role.DELEGATE}))
    assert p == make({"*": Role.DELEGATE})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"roles": {}}, "at least one role"),
        ({"roles": {"*": "king"}}, "king"),
        ({"group": "press"}, "press"),
        ({"id": ""}, "blank"),
        ({"id": "x" * (MAX_ID_LENGTH + 1)}, "longer"),
        ({"name": "n" * (MAX_NAME_LENGTH + 1)}, "longer"),
        ({"delegation": "   "}, "blank"),
        ({"name": "Chair\nFORGED LOG LINE"}, "control"),
        ({"name": "Delegate \u202eecnarF"}, "control"),
        ({"roles": {"d" * (MAX_ID_LENGTH + 1): "delegate"}}, "draft id"),
    ],
)
def test_participant_validation(overrides: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"roles": {"*": "delegate"}, **overrides}
    roles = fields.pop("roles")
    with pytest.raises(ValueError, match=message):
        make(roles, **fields)  # type: ignore[arg-type]


def test_demo_participants() -> None:
    people = demo_participants()
    ids = [p.id for p in people]
    assert len(ids) == len(set(ids))
    roles = [p.role_for("any-draft") for p in people]
    assert roles.count(Role.CHAIR) == 1
    assert roles.count(Role.DELEGATE) == 3
    assert Role.OBSERVER in roles and Role.ARCHIVIST in roles
    chair = next(p for p in people if p.role_for("d") is Role.CHAIR)
    assert (chair.name, chair.delegation, chair.group) == (
        "Chair",
        "Bureau",
        StakeholderGroup.INTERNATIONAL_ORGANIZATION,
    )
    delegate_groups = {p.group for p in people if p.role_for("d") is Role.DELEGATE}
    assert {
        StakeholderGroup.GOVERNMENT,
        StakeholderGroup.PRIVATE_SECTOR,
        StakeholderGroup.CIVIL_SOCIETY,
    } <= delegate_groups
    assert {p.delegation for p in people} >= {"Switzerland", "CCBI"}
    assert demo_participants() == people  # stable across calls


# --- tokens ---------------------------------------------------------------------------------------


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(SECRET)


@pytest.fixture
def participant() -> Participant:
    return make({ALL_DRAFTS: Role.OBSERVER, "draft-7": Role.DELEGATE})


def claims_of(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def signed(claims: dict[str, object], secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def valid_claims() -> dict[str, object]:
    issued = int(NOW.timestamp())
    return {
        "iss": "plenary",
        "sub": "p-1",
        "name": "Delegate of Switzerland",
        "delegation": "Switzerland",
        "group": "government",
        "roles": {"*": "delegate"},
        "iat": issued,
        "exp": issued + 3600,
        "jti": "abc123",
    }


def flip_char(segment: str, index: int) -> str:
    """Replace one base64url character by another, so the segment stays decodable."""
    replacement = "A" if segment[index] != "A" else "B"
    return segment[:index] + replacement + segment[index + 1 :]


def test_round_trip(issuer: TokenIssuer, participant: Participant) -> None:
    token = issuer.issue(participant, timedelta(hours=8), now=NOW)
    assert issuer.verify(token, now=NOW + timedelta(hours=1)) == participant
    verified = issuer.verify_token(token, now=NOW)
    assert verified.participant == participant
    assert verified.issued_at == NOW
    assert verified.expires_at == NOW + timedelta(hours=8)
    claims = claims_of(token)
    assert set(claims) == {"sub", "name", "delegation", "group", "roles", "iat", "exp", "jti", "iss"}
    assert claims["iss"] == "plenary"
    assert claims["sub"] == "p-1"
    assert claims["group"] == "government"
    assert claims["roles"] == {"*": "observer", "draft-7": "delegate"}
    assert claims["jti"] == verified.token_id
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_every_token_has_a_fresh_id(issuer: TokenIssuer, participant: Participant) -> None:
    ids = {claims_of(issuer.issue(participant, timedelta(hours=1)))["jti"] for _ in range(20)}
    assert len(ids) == 20


def test_verify_without_now_uses_the_clock(issuer: TokenIssuer, participant: Participant) -> None:
    assert issuer.verify(issuer.issue(participant, timedelta(minutes=5))) == participant


def test_expired_token_respects_leeway(issuer: TokenIssuer, participant: Participant) -> None:
    token = issuer.issue(participant, timedelta(hours=1), now=NOW)
    end = NOW + timedelta(hours=1)
    assert issuer.verify(token, now=end + TOKEN_LEEWAY - timedelta(seconds=1)) == participant
    with pytest.raises(ExpiredTokenError):
        issuer.verify(token, now=end + TOKEN_LEEWAY)
    with pytest.raises(ExpiredTokenError):
        issuer.verify(token, now=end + timedelta(days=3))


def test_token_from_the_future_is_refused(issuer: TokenIssuer, participant: Participant) -> None:
    token = issuer.issue(participant, timedelta(hours=1), now=NOW + timedelta(minutes=5))
    with pytest.raises(InvalidClaimsError, match="future"):
        issuer.verify(token, now=NOW)
    # Within the leeway, clock skew is forgiven.
    skewed = issuer.issue(participant, timedelta(hours=1), now=NOW + timedelta(seconds=10))
    assert issuer.verify(skewed, now=NOW) == participant


def test_tampered_payload(issuer: TokenIssuer, participant: Participant) -> None:
    header, payload, signature = issuer.issue(participant, timedelta(hours=1), now=NOW).split(".")
    tampered = f"{header}.{flip_char(payload, len(payload) // 2)}.{signature}"
    with pytest.raises(InvalidSignatureError):
        issuer.verify(tampered, now=NOW)


def test_tampered_payload_with_escalated_role(issuer: TokenIssuer, participant: Participant) -> None:
    header, payload, signature = issuer.issue(participant, timedelta(hours=1), now=NOW).split(".")
    claims = claims_of(f"{header}.{payload}.{signature}")
    claims["roles"] = {"*": "chair"}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidSignatureError):
        issuer.verify(f"{header}.{forged}.{signature}", now=NOW)


def test_tampered_signature(issuer: TokenIssuer, participant: Participant) -> None:
    header, payload, signature = issuer.issue(participant, timedelta(hours=1), now=NOW).split(".")
    # Not the last character: its low bits are padding and a flip there may decode to the same bytes.
    tampered = f"{header}.{payload}.{flip_char(signature, 10)}"
    with pytest.raises(InvalidSignatureError):
        issuer.verify(tampered, now=NOW)


def test_wrong_secret(participant: Participant) -> None:
    token = TokenIssuer(generate_secret()).issue(participant, timedelta(hours=1), now=NOW)
    with pytest.raises(InvalidSignatureError):
        TokenIssuer(generate_secret()).verify(token, now=NOW)


def test_other_algorithms_are_refused(issuer: TokenIssuer) -> None:
    unsigned = signed(valid_claims(), secret="", algorithm="none")
    with pytest.raises(InvalidSignatureError):
        issuer.verify(unsigned, now=NOW)
    hs512 = signed(valid_claims(), algorithm="HS512")
    with pytest.raises(InvalidSignatureError):
        issuer.verify(hs512, now=NOW)


@pytest.mark.parametrize("token", [None, "", "   "])
def test_missing_token(issuer: TokenIssuer, token: str | None) -> None:
    with pytest.raises(MissingTokenError):
        issuer.verify(token, now=NOW)


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", "a.b", "a.b.c", "a.b.c.d", "...", "jwt.with.ü"],
)
def test_malformed_token(issuer: TokenIssuer, token: str) -> None:
    with pytest.raises(MalformedTokenError):
        issuer.verify(token, now=NOW)


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2, 3]"])
def test_signed_payload_that_is_not_a_claims_object(issuer: TokenIssuer, payload: bytes) -> None:
    token = jwt.api_jws.encode(payload, SECRET, algorithm="HS256")
    with pytest.raises(MalformedTokenError):
        issuer.verify(token, now=NOW)


def test_non_string_token(issuer: TokenIssuer) -> None:
    with pytest.raises(MalformedTokenError):
        issuer.verify(b"a.b.c", now=NOW)  # type: ignore[arg-type]


def test_oversize_token_is_refused_before_decoding(issuer: TokenIssuer) -> None:
    claims = valid_claims()
    claims["padding"] = "x" * MAX_TOKEN_BYTES
    token = signed(claims)  # correctly signed, but too large
    with pytest.raises(TokenTooLargeError) as info:
        issuer.verify(token, now=NOW)
    assert isinstance(info.value, MalformedTokenError)
    with pytest.raises(TokenTooLargeError):
        issuer.verify("a" * (MAX_TOKEN_BYTES + 1), now=NOW)


def test_issue_refuses_a_token_verify_would_refuse(issuer: TokenIssuer) -> None:
    many = make({f"draft-{i}": Role.DELEGATE for i in range(1000)})
    with pytest.raises(ValueError, match="exceed"):
        issuer.issue(many, timedelta(hours=1))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"roles": {"*": "king"}}, "unknown role"),
        ({"roles": {"*": 3}}, "unknown role"),
        ({"roles": ["delegate"]}, "roles"),
        ({"roles": {}}, "at least one role"),
        ({"group": "press"}, "group"),
        ({"group": None}, "group"),
        ({"iss": "someone-else"}, "issued"),
        ({"sub": 42}, "invalid claims"),
        ({"sub": ""}, "blank"),
        ({"sub": "x" * (MAX_ID_LENGTH + 1)}, "longer"),
        ({"name": "n" * (MAX_NAME_LENGTH + 1)}, "longer"),
        ({"delegation": "d" * (MAX_NAME_LENGTH + 1)}, "longer"),
        ({"name": ["not", "a", "string"]}, "string"),
        ({"jti": ""}, "blank"),
        ({"iat": "yesterday"}, "iat"),
        ({"exp": True}, "exp"),
        ({"exp": 1.5}, "exp"),
        ({"exp": int(NOW.timestamp()) - 10}, "before"),
        ({"nbf": int(NOW.timestamp()) + 3600}, "not yet valid"),
        ({"roles": {"d" * (MAX_ID_LENGTH + 1): "delegate"}}, "draft id"),
    ],
)
def test_invalid_claims(issuer: TokenIssuer, change: dict[str, object], message: str) -> None:
    token = signed({**valid_claims(), **change})
    with pytest.raises(InvalidClaimsError, match=message):
        issuer.verify(token, now=NOW)


@pytest.mark.parametrize("claim", ["sub", "name", "delegation", "group", "roles", "iat", "exp", "jti", "iss"])
def test_missing_claim(issuer: TokenIssuer, claim: str) -> None:
    claims = valid_claims()
    del claims[claim]
    with pytest.raises(InvalidClaimsError, match=claim):
        issuer.verify(signed(claims), now=NOW)


def test_valid_hand_made_claims_pass(issuer: TokenIssuer) -> None:
    assert issuer.verify(signed(valid_claims()), now=NOW).role_for("d") is Role.DELEGATE


def test_errors_are_typed_and_fit_a_close_frame(issuer: TokenIssuer) -> None:
    assert issubclass(AuthenticationError, PlenaryError)
    for cls in (
        MissingTokenError,
        MalformedTokenError,
        TokenTooLargeError,
        InvalidSignatureError,
        ExpiredTokenError,
        InvalidClaimsError,
    ):
        assert issubclass(cls, AuthenticationError)
    claims = {**valid_claims(), "roles": {"*": "k" * 5000}}
    with pytest.raises(AuthenticationError) as info:
        issuer.verify(signed(claims), now=NOW)
    assert info.value.close_code == 4401
    assert info.value.http_status == 401
    assert len(info.value.reason.encode()) <= 123
    assert "kkk" not in info.value.reason  # attacker-controlled values are not echoed
    assert len(AuthenticationError("é" * 200).reason.encode()) <= 123
    # Close codes follow server/sync/closecodes.py: a revoked token is "forbidden", not "unauthenticated".
    assert RevokedTokenError().close_code == 4403
    assert issubclass(RevokedTokenError, AuthenticationError)


@pytest.mark.parametrize("secret", ["", "short", "x" * 31])
def test_short_secret_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenIssuer(secret)


def test_secret_is_not_in_repr() -> None:
    assert SECRET not in repr(TokenIssuer(SECRET))


def test_generate_secret() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert len(first.encode()) >= 32
    TokenIssuer(first)


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(seconds=-1), MAX_TTL + timedelta(seconds=1)])
def test_issue_refuses_bad_lifetimes(issuer: TokenIssuer, participant: Participant, ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        issuer.issue(participant, ttl)


def test_naive_now_is_refused(issuer: TokenIssuer, participant: Participant) -> None:
    with pytest.raises(ValueError, match="timezone"):
        issuer.issue(participant, timedelta(hours=1), now=datetime(2025, 1, 1))


# --- TTLs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("8h", timedelta(hours=8)),
        ("2d", timedelta(days=2)),
        (" 8H ", timedelta(hours=8)),
        ("30d", MAX_TTL),
        ("720h", MAX_TTL),
    ],
)
def test_parse_ttl(text: str, expected: timedelta) -> None:
    assert parse_ttl(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid lifetime"),
        ("8", "invalid lifetime"),
        ("h", "invalid lifetime"),
        ("8w", "invalid lifetime"),
        ("1h30m", "invalid lifetime"),
        ("-5m", "invalid lifetime"),
        ("1.5h", "invalid lifetime"),
        ("8 h", "invalid lifetime"),
        ("99999999999999999999d", "invalid lifetime"),
        ("0s", "positive"),
        ("31d", "maximum"),
        ("2592001s", "maximum"),
        ("9999999999d", "maximum"),
    ],
)
def test_parse_ttl_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_ttl(text)


# --- origins --------------------------------------------------------------------------------------

SITE = "https://plenary.example.org"


@pytest.mark.parametrize(
    ("origin", "allowed", "host", "scheme", "expected"),
    [
        # No Origin header: not a browser.
        (None, [], None, "http", True),
        (None, [SITE], "evil.example", "http", True),
        # Wildcard.
        ("https://anything.example", ["*"], None, "http", True),
        ("null", ["*"], None, "http", True),
        # Exact list, normalised.
        (SITE, [SITE], None, "http", True),
        ("HTTPS://Plenary.Example.org:443", [SITE], None, "http", True),
        (SITE, [SITE + "/"], None, "http", True),
        (SITE, ["https://other.example", SITE], None, "http", True),
        ("https://evil.example", [SITE], "plenary.example.org", "http", False),
        ("http://plenary.example.org", [SITE], None, "http", False),
        ("https://plenary.example.org:8443", [SITE], None, "http", False),
        ("https://plenary.example.org.evil.example", [SITE], None, "http", False),
        ("null", [SITE], None, "http", False),
        ("", [SITE], None, "http", False),
        (SITE, ["not an origin", SITE], None, "http", True),
        (SITE, ["not an origin"], None, "http", False),
        # Empty list: same origin only.
        ("http://localhost:8000", [], "localhost:8000", "http", True),
        ("http://LOCALHOST:8000", [], "localhost:8000", "http", True),
        ("https://plenary.example.org", [], "plenary.example.org", "https", True),
        ("https://plenary.example.org", [], "plenary.example.org:443", "https", True),
        ("http://plenary.example.org", [], "plenary.example.org", "http", True),
        ("http://[::1]:8000", [], "[::1]:8000", "http", True),
        ("http://localhost:8001", [], "localhost:8000", "http", False),
        ("http://localhost", [], "localhost:8000", "http", False),
        ("https://evil.example", [], "plenary.example.org", "https", False),
        ("http://localhost:8000", [], None, "http", False),
        ("http://localhost:8000", [], "", "http", False),
        ("http://localhost:8000", [], "localhost:notaport", "http", False),
        ("null", [], "localhost:8000", "http", False),
        ("file://", [], "localhost", "http", False),
        ("http://localhost:8000/path", [], "localhost:8000", "http", False),
        ("http://user@localhost:8000", [], "localhost:8000", "http", False),
        # The scheme counts: an https page is not the origin of an http (ws) request, nor the reverse.
        ("http://localhost:8000", [], "localhost:8000", "ws", True),
        ("https://plenary.example.org", [], "plenary.example.org", "wss", True),
        ("https://127.0.0.1:8000", [], "127.0.0.1:8000", "ws", False),
        ("https://127.0.0.1:8000", [], "127.0.0.1:8000", "http", False),
        ("http://plenary.example.org", [], "plenary.example.org", "wss", False),
        ("http://plenary.example.org:443", [], "plenary.example.org", "https", False),
        ("http://localhost:8000", [], "localhost:8000", "ftp", False),
    ],
)
def test_origin_allowed(
    origin: str | None, allowed: list[str], host: str | None, scheme: str, expected: bool
) -> None:
    assert origin_allowed(origin, allowed, host, scheme=scheme) is expected


def test_normalize_origin() -> None:
    assert normalize_origin("HTTPS://Plenary.Example.org:443/") == SITE
    assert normalize_origin("http://localhost:8000") == "http://localhost:8000"
    assert normalize_origin("http://[::1]:80") == "http://[::1]"
    for bad in (
        "plenary.example.org",
        "https://x.example/path",
        "ftp://x.example",
        "null",
        "https://x:99999",
    ):
        with pytest.raises(ValueError):
            normalize_origin(bad)


def test_tokens_in_urls_never_reach_the_logs():
    import logging

    from server.identity import RedactTokens

    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/ws/summit?token=eyJhbGciOi.secret.sig&x=1"),
        None,
    )
    assert RedactTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "WebSocket /ws/summit?token=…&x=1" [accepted]'


def test_a_translator_translates_only_their_languages_and_the_secretariat_all() -> None:
    translator = make({ALL_DRAFTS: Role.TRANSLATOR}, languages=frozenset({"ar", "fr"}))
    assert translator.may_translate("ar", "d") and not translator.may_translate("zh", "d")
    assert make({ALL_DRAFTS: Role.SECRETARIAT}).may_translate("zh", "d")
    assert not make({ALL_DRAFTS: Role.DELEGATE}, languages=frozenset({"ar"})).may_translate("ar", "d")
    with pytest.raises(ValueError, match="languages"):
        make({ALL_DRAFTS: Role.TRANSLATOR}, languages=frozenset({"Arabic"}))
    issuer = TokenIssuer(SECRET)
    token = issuer.issue(translator, timedelta(hours=1), now=NOW)
    assert issuer.verify(token, now=NOW).languages == {"ar", "fr"}


@pytest.mark.parametrize(
    "languages", ["ar", [["ar"]], ["Arabic"], [1], [f"a{chr(97 + i)}" for i in range(17)]]
)
def test_bad_languages_claims_are_refused(languages: object) -> None:
    claims = {**valid_claims(), "roles": {"*": "translator"}, "languages": languages}
    with pytest.raises(InvalidClaimsError):
        TokenIssuer(SECRET).verify(signed(claims), now=NOW)
