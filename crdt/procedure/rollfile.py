"""The roll as a CSV file, as a secretariat keeps it: one row per accredited person.

Columns (a header row names them, in any order; column names are case-insensitive):

============== ======== =====================================================================================
column         required meaning
============== ======== =====================================================================================
``delegation``  yes     the delegation's name; empty for the Bureau and the secretariat
``group``       yes     its stakeholder group: government, private_sector, civil_society,
                        international_organization, technical_academic (empty for the Bureau)
``kind``        no      member_state, observer_state, intergovernmental_organisation, un_system,
                        accredited_organisation (empty: member_state for governments,
                        intergovernmental_organisation for international organisations, else
                        accredited_organisation)
``negotiating`` no      yes / no: negotiating rights as the roll states them (empty: from the kind and the
                        procedure profile)
``participant`` yes     the person's participant id (what their token or sign-in names); empty on a row
                        that only lists a delegation
``name``        yes     the person's name
``role``        yes     head_of_delegation, delegate, adviser, chair, vice_chair, secretariat, observer,
                        archivist, translator
``email``       no      matched at sign-in through the identity provider
``subject``     no      the identity provider's subject for this person (matched before the e-mail)
============== ======== =====================================================================================

Every row is checked; each problem is reported with its line number, and nothing is imported while any
remains. Pure: text in, the roll's JSON (as ``roll.import`` takes it) or the problems out.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from crdt.procedure.commands import CommandRefused
from crdt.procedure.roll import Delegation, Person

__all__ = ["COLUMNS", "REQUIRED_COLUMNS", "RollFile", "RollFileError", "parse_roll_csv"]

COLUMNS = ("delegation", "group", "kind", "negotiating", "participant", "name", "role", "email", "subject")
REQUIRED_COLUMNS = ("delegation", "group", "participant", "name", "role")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
#: A roll file larger than this is not a roll (20,000 people at ~200 bytes a row is 4 MB).
MAX_ROLL_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RollFileError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class RollFile:
    """The delegations and people of a roll file, or the problems found in it."""

    delegations: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RollFileError] = field(default_factory=list)


def _negotiating(value: str) -> bool | None:
    lowered = value.strip().lower()
    if not lowered:
        return None
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise ValueError(f"negotiating must be yes, no or empty, not {value[:20]!r}")


def parse_roll_csv(text: str) -> RollFile:
    """Parse and check a roll file (see the module's table)."""
    out = RollFile()
    if len(text.encode()) > MAX_ROLL_FILE_BYTES:
        out.errors.append(RollFileError(1, f"file larger than {MAX_ROLL_FILE_BYTES} bytes"))
        return out
    text = text.removeprefix("\ufeff")  # a BOM, as spreadsheets write it
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        out.errors.append(RollFileError(1, "the file is empty: expected a header row"))
        return out
    except csv.Error as exc:
        out.errors.append(RollFileError(1, f"not CSV: {exc}"))
        return out
    names = [column.strip().lower() for column in header]
    unknown = [name for name in names if name not in COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if unknown or missing or len(set(names)) != len(names):
        problems = []
        if unknown:
            problems.append(f"unknown columns {', '.join(unknown)}")
        if missing:
            problems.append(f"missing columns {', '.join(missing)}")
        if len(set(names)) != len(names):
            problems.append("a column appears twice")
        out.errors.append(RollFileError(1, f"{'; '.join(problems)} (columns: {', '.join(COLUMNS)})"))
        return out

    delegations: dict[str, tuple[int, Delegation]] = {}
    people: dict[str, int] = {}
    keys: dict[str, tuple[int, str]] = {}
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            out.errors.append(RollFileError(reader.line_num, f"not CSV: {exc}"))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines are allowed
        if len(row) != len(names):
            out.errors.append(RollFileError(line, f"{len(row)} fields, expected {len(names)}"))
            continue
        cells = {name: cell.strip() for name, cell in zip(names, row, strict=True)}
        try:
            _row(cells, line, delegations, people, keys, out)
        except (CommandRefused, ValueError) as exc:
            out.errors.append(RollFileError(line, getattr(exc, "detail", None) or str(exc)))
    if not out.errors and not out.people and not out.delegations:
        out.errors.append(RollFileError(line, "no delegation and no person in the file"))
    return out


def _row(
    cells: dict[str, str],
    line: int,
    delegations: dict[str, tuple[int, Delegation]],
    people: dict[str, int],
    keys: dict[str, tuple[int, str]],
    out: RollFile,
) -> None:
    name = cells.get("delegation", "")
    if name:
        delegation = Delegation.from_json(
            {
                "name": name,
                "group": cells.get("group", ""),
                "kind": cells.get("kind") or None,
                "negotiating": _negotiating(cells.get("negotiating", "")),
            }
        )
        seen = delegations.get(name)
        if seen is None:
            delegations[name] = (line, delegation)
            out.delegations.append(delegation.to_json())
        elif seen[1] != delegation:
            raise ValueError(f"{name!r} is listed differently on line {seen[0]} (group, kind or negotiating)")
    elif cells.get("group") or cells.get("kind") or cells.get("negotiating"):
        raise ValueError("group, kind and negotiating describe a delegation: this row names none")
    participant = cells.get("participant", "")
    if not participant:
        if not name:
            raise ValueError("neither a delegation nor a participant")
        if cells.get("name") or cells.get("role"):
            raise ValueError("a person's name and role need a participant id")
        return
    person = Person.from_json(
        {
            "id": participant,
            "name": cells.get("name", ""),
            "delegation": name or None,
            "role": cells.get("role", ""),
            "email": cells.get("email") or None,
            "subject": cells.get("subject") or None,
        }
    )
    if person.id in people:
        raise ValueError(f"participant {person.id!r} is already on line {people[person.id]}")
    for what, key in (("subject", person.subject), ("e-mail", person.email)):
        if key is None:
            continue
        seen_key = keys.get(f"{what}:{key}")
        if seen_key is not None:
            raise ValueError(f"{what} {key!r} is already {seen_key[1]}'s (line {seen_key[0]})")
        keys[f"{what}:{key}"] = (line, person.id)
    people[person.id] = line
    out.people.append(person.to_json())
