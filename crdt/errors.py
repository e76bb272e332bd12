"""One hierarchy for everything the pure layer can refuse.

Each error carries the websocket close code the I/O layer should use, so the
decision about *what* went wrong is made once, here, next to the rule that
found it, and the server only has to carry it out.
"""

from __future__ import annotations


class PlenaryError(Exception):
    """Base class of every error raised by Plenary's own code."""


class ProtocolError(PlenaryError):
    """A peer sent bytes that do not follow the y-protocols wire format."""

    #: 1002 is the RFC 6455 code for a protocol error; 4400 is our
    #: application-level "bad request" (see the README's close-code table).
    close_code = 4400

    def __init__(self, reason: str, *, close_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if close_code is not None:
            self.close_code = close_code


class DecodeError(ProtocolError):
    """Bytes that end early, overflow a varint or leave bytes unread."""


class UpdateRejected(ProtocolError):
    """A Yjs update (or state vector) that breaks one of the inspection rules."""

    close_code = 4422


class UpdateTooLarge(UpdateRejected):
    """An update over a size limit: too many structs, or a document grown too big."""

    close_code = 4413
