"""What every command of the procedure shares: who sends it, how it is refused, how its fields are read.

The deliberation (amendments, positions, periods, silence), the roll and the meetings each keep their own
state and handlers; they all refuse with :class:`CommandRefused` (an HTTP status and a detail safe to send
back) and record the same :class:`Actor`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crdt.errors import PlenaryError

#: Longest free text (a body, a justification, an explanation) in characters.
MAX_BODY = 20_000


class CommandRefused(PlenaryError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def refuse(detail: str, status: int = 422) -> CommandRefused:
    return CommandRefused(status, detail)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who sent a command, in which capacity, as the log records it."""

    participant: str
    name: str
    delegation: str
    group: str
    role: str

    def to_json(self) -> dict[str, str]:
        return {
            "participant": self.participant,
            "name": self.name,
            "delegation": self.delegation,
            "group": self.group,
            "role": self.role,
        }


def need(command: Mapping[str, Any], name: str, kind: type = str) -> Any:
    """A required field of ``kind`` (a non-empty string by default), or a 422."""
    value = command.get(name)
    # bool is an int in Python; a JSON true is not a number of microseconds.
    wrong = not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))
    if wrong or (kind is str and not value):
        raise refuse(f"missing or invalid {name!r}", 422)
    return value
