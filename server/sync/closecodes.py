"""Websocket close codes Plenary uses, in one place (the README has the table).

y-websocket 3 clients treat 4400-4499 as final (they stop reconnecting) and
reconnect after any other code, so refusals that would only repeat (a bad
update, no access) are 44xx, and conditions that pass (too slow, too fast) are
45xx: the client comes back after its backoff.
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    #: Sent by the transport when a frame is over ``max_message_bytes``.
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    #: Malformed message, unknown type, bad room name, update that does not decode.
    PROTOCOL = 4400
    #: No token, a bad or an expired one.
    UNAUTHENTICATED = 4401
    #: Authenticated, but not allowed: no access to the draft, read-only, revoked.
    FORBIDDEN = 4403
    #: No such draft: only existing drafts and their rooms may be opened.
    NOT_FOUND = 4404
    #: The client did not read fast enough; its queue passed the limit (it reconnects).
    SLOW_READER = 4508
    #: A Yjs client id already owned by another connection in the room.
    CLIENT_ID_TAKEN = 4409
    #: Too many client ids on one connection, or another policy limit.
    POLICY = 4410
    #: An update that would make the document larger than allowed.
    TOO_LARGE = 4413
    #: An update that decodes but breaks a rule (clock gap, nesting, limits).
    UPDATE_REJECTED = 4422
    #: Too many messages per second (it reconnects after its backoff).
    RATE_LIMITED = 4529
