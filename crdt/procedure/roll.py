"""The roll of a draft: which delegations sit at the table, who is accredited to each, and under which
procedure profile they decide.

Accreditation is decided before the meeting, not by whoever shows up (../shared/docs/domain.md): once a
draft's roll names people, a participant's delegation, stakeholder group and capacity come from the roll,
never from what a token claims. Every change is a command in the draft's log (``roll.*``, ``profile.set``),
folded here, so the roll at any entry is known and the archive can say who was on it at the time.

Pure: the handlers take the command, its actor and the time, and either refuse (:class:`CommandRefused`)
or change the :class:`Roll`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from crdt.procedure.commands import Actor, refuse
from crdt.procedure.consensus import StakeholderGroup

__all__ = [
    "BUREAU_ROLES",
    "DELEGATION_ROLES",
    "MAX_ROLL_DELEGATIONS",
    "MAX_ROLL_PEOPLE",
    "ROLL_COMMANDS",
    "Delegation",
    "DelegationKind",
    "Person",
    "PersonRole",
    "ProcedureProfile",
    "Roll",
    "default_kind",
    "roll_snapshot",
]

#: A roll larger than this is not a negotiation's (the UN General Assembly seats 193 Member States).
MAX_ROLL_DELEGATIONS = 2_000
MAX_ROLL_PEOPLE = 20_000
_MAX_NAME = 200
_MAX_ID = 200
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


class DelegationKind(StrEnum):
    """What a delegation is, as the roll of an intergovernmental meeting lists it."""

    MEMBER_STATE = "member_state"
    OBSERVER_STATE = "observer_state"
    INTERGOVERNMENTAL_ORGANISATION = "intergovernmental_organisation"
    #: Bodies, specialised agencies, funds and programmes of the UN system (the ITU, UNESCO).
    UN_SYSTEM = "un_system"
    #: Accredited organisations of civil society, business, the technical and academic community.
    ACCREDITED_ORGANISATION = "accredited_organisation"


class ProcedureProfile(StrEnum):
    """Who decides.

    ``intergovernmental``: delegations with negotiating rights (Member States, and whoever the roll marks
    so) propose and co-sponsor amendments, edit the text, state positions that count toward consensus,
    object and break silence; other accredited stakeholders annotate and state *views*, shown beside the
    indicator, never blocking. ``multistakeholder``: every stakeholder group on the roll has the same
    rights (the Working Group on Internet Governance, NETmundial).
    """

    INTERGOVERNMENTAL = "intergovernmental"
    MULTISTAKEHOLDER = "multistakeholder"


class PersonRole(StrEnum):
    """A person's capacity on the roll."""

    HEAD_OF_DELEGATION = "head_of_delegation"
    DELEGATE = "delegate"
    ADVISER = "adviser"
    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"
    SECRETARIAT = "secretariat"
    OBSERVER = "observer"
    ARCHIVIST = "archivist"
    #: Keeps language versions (the languages come with the person's sign-in, as for any translator).
    TRANSLATOR = "translator"

    @property
    def capacity(self) -> str:
        """The permission role (``server.identity.Role`` value) this capacity acts in.

        Vice-chairs preside in the chair's absence with the chair's powers; advisers sit with their
        delegation and act for it.
        """
        return _CAPACITY[self]


_CAPACITY = {
    PersonRole.HEAD_OF_DELEGATION: "delegate",
    PersonRole.DELEGATE: "delegate",
    PersonRole.ADVISER: "delegate",
    PersonRole.CHAIR: "chair",
    PersonRole.VICE_CHAIR: "chair",
    PersonRole.SECRETARIAT: "secretariat",
    PersonRole.OBSERVER: "observer",
    PersonRole.ARCHIVIST: "archivist",
    PersonRole.TRANSLATOR: "translator",
}

#: Capacities that belong to a delegation (the person speaks for it).
DELEGATION_ROLES = frozenset({PersonRole.HEAD_OF_DELEGATION, PersonRole.DELEGATE, PersonRole.ADVISER})
#: The Bureau and the secretariat sit for no delegation.
BUREAU_ROLES = frozenset({PersonRole.CHAIR, PersonRole.VICE_CHAIR, PersonRole.SECRETARIAT})
#: Capacities that may change the roll (and so must remain on a roll that names people).
_MANAGERS = frozenset({PersonRole.CHAIR, PersonRole.VICE_CHAIR, PersonRole.SECRETARIAT})


def default_kind(group: StakeholderGroup | str) -> DelegationKind:
    """The usual kind of a delegation of ``group`` when the roll does not say."""
    group = StakeholderGroup(group)
    if group is StakeholderGroup.GOVERNMENT:
        return DelegationKind.MEMBER_STATE
    if group is StakeholderGroup.INTERNATIONAL_ORGANIZATION:
        return DelegationKind.INTERGOVERNMENTAL_ORGANISATION
    return DelegationKind.ACCREDITED_ORGANISATION


def _text(what: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise refuse(f"{what} must be a non-empty string")
    if len(value) > limit:
        raise refuse(f"{what} longer than {limit} characters")
    if value != value.strip():
        raise refuse(f"{what} must not start or end with spaces")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        raise refuse(f"{what} contains control or formatting characters")
    return value


def _enum(what: str, kind: type[StrEnum], value: Any) -> Any:
    if not isinstance(value, str) or value not in kind.__members__.values():
        raise refuse(f"{what} must be one of {', '.join(kind)}")
    return kind(value)


@dataclass(frozen=True, slots=True)
class Delegation:
    """A delegation on the roll: a country, an organisation, a coalition; its position is one position."""

    name: str
    group: StakeholderGroup
    kind: DelegationKind
    #: Negotiating rights as the roll states them; None: derived from the kind and the profile.
    negotiating: bool | None = None

    def negotiates(self, profile: ProcedureProfile) -> bool:
        """Whether this delegation's positions count and its delegates edit and propose under ``profile``."""
        if self.negotiating is not None:
            return self.negotiating
        return profile is ProcedureProfile.MULTISTAKEHOLDER or self.kind is DelegationKind.MEMBER_STATE

    def to_json(self, profile: ProcedureProfile | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "group": str(self.group),
            "kind": str(self.kind),
            "negotiating": self.negotiating,
        }
        if profile is not None:
            data["negotiates"] = self.negotiates(profile)
        return data

    @classmethod
    def from_json(cls, data: Any) -> Delegation:
        """A delegation from a command's JSON, or a 422 naming what is wrong."""
        if not isinstance(data, Mapping):
            raise refuse("a delegation must be an object {name, group, kind, negotiating}")
        name = _text("delegation name", data.get("name"), _MAX_NAME)
        group = _enum("group", StakeholderGroup, data.get("group"))
        kind_value = data.get("kind")
        kind = default_kind(group) if kind_value in (None, "") else _enum("kind", DelegationKind, kind_value)
        negotiating = data.get("negotiating")
        if negotiating is not None and not isinstance(negotiating, bool):
            raise refuse("negotiating must be true, false or null")
        return cls(name, group, kind, negotiating)


@dataclass(frozen=True, slots=True)
class Person:
    """A person accredited to the draft, to a delegation or (``delegation`` None) to the Bureau."""

    id: str
    name: str
    delegation: str | None
    role: PersonRole
    #: How a sign-in through the organisation's identity provider finds this person.
    email: str | None = None
    subject: str | None = None

    @property
    def capacity(self) -> str:
        return self.role.capacity

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "delegation": self.delegation,
            "role": str(self.role),
            "email": self.email,
            "subject": self.subject,
        }

    @classmethod
    def from_json(cls, data: Any) -> Person:
        if not isinstance(data, Mapping):
            raise refuse("a person must be an object {id, name, delegation, role, email, subject}")
        person_id = _text("participant id", data.get("id"), _MAX_ID)
        name = _text("name", data.get("name"), _MAX_NAME)
        role = _enum("role", PersonRole, data.get("role"))
        raw = data.get("delegation")
        delegation = None if raw in (None, "") else _text("delegation", raw, _MAX_NAME)
        if role in DELEGATION_ROLES and delegation is None:
            raise refuse(f"a {role} belongs to a delegation")
        if role in BUREAU_ROLES | {PersonRole.ARCHIVIST, PersonRole.TRANSLATOR} and delegation is not None:
            raise refuse(f"a {role} sits for no delegation (leave the delegation empty)")
        email = data.get("email") or None
        if email is not None and (not isinstance(email, str) or not _EMAIL.fullmatch(email)):
            raise refuse("email must look like name@example.org")
        subject = data.get("subject") or None
        if subject is not None:
            subject = _text("subject", subject, _MAX_ID)
        return cls(person_id, name, delegation, role, email.lower() if email else None, subject)


@dataclass
class Roll:
    """Who is at the table of one draft, and the procedure profile they decide under."""

    delegations: dict[str, Delegation] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    profile: ProcedureProfile = ProcedureProfile.MULTISTAKEHOLDER
    #: Changes in order, for the archive: ``{event, at, by, ...}``.
    history: list[dict[str, Any]] = field(default_factory=list)

    def is_empty(self) -> bool:
        """No person accredited: identity then comes from the token, as for a draft without a roll."""
        return not self.people

    def person(self, participant: str) -> Person | None:
        return self.people.get(participant)

    def delegation_of(self, participant: str) -> Delegation | None:
        person = self.people.get(participant)
        if person is None or person.delegation is None:
            return None
        return self.delegations.get(person.delegation)

    def negotiates(self, delegation: str, group: str | None = None) -> bool:
        """Whether ``delegation``'s positions count toward consensus under the current profile.

        A delegation that is not on the roll (a draft without a roll: identity from tokens) negotiates in
        a multistakeholder draft, and in an intergovernmental one when its declared ``group`` is
        ``government`` (a Member State, as far as anyone can tell without a roll).
        """
        found = self.delegations.get(delegation)
        if found is None:
            return self.profile is ProcedureProfile.MULTISTAKEHOLDER or group == StakeholderGroup.GOVERNMENT
        return found.negotiates(self.profile)

    def groups(self) -> dict[StakeholderGroup, list[str]]:
        """Stakeholder group → its delegations on the roll."""
        out: dict[StakeholderGroup, list[str]] = {}
        for delegation in self.delegations.values():
            out.setdefault(delegation.group, []).append(delegation.name)
        return out

    def expected(self) -> dict[str, StakeholderGroup]:
        """Delegation → group, for the indicators' silent and unrepresented groups."""
        return {name: d.group for name, d in self.delegations.items()}

    def by_subject(self, subject: str) -> Person | None:
        for person in self.people.values():
            if person.subject is not None and person.subject == subject:
                return person
        return None

    def by_email(self, email: str) -> Person | None:
        wanted = email.lower()
        for person in self.people.values():
            if person.email is not None and person.email == wanted:
                return person
        return None

    def members(self, delegation: str) -> list[Person]:
        return [p for p in self.people.values() if p.delegation == delegation]

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": str(self.profile),
            "delegations": [d.to_json(self.profile) for d in sorted(self.delegations.values(), key=_by_name)],
            "people": [p.to_json() for p in sorted(self.people.values(), key=lambda p: p.id)],
        }


def _by_name(delegation: Delegation) -> str:
    return delegation.name.casefold()


def roll_snapshot(roll: Roll) -> dict[str, Any]:
    """The ``roll`` map of the deliberation document: one key per delegation and per person, so that
    accrediting one person republishes one entry, not the whole roll."""
    out: dict[str, Any] = {}
    for name, delegation in roll.delegations.items():
        out[f"delegation/{name}"] = delegation.to_json(roll.profile)
    for person_id, person in roll.people.items():
        out[f"person/{person_id}"] = person.to_json()
    return out


# Commands. Each validates fully, then changes the roll.

RollHandler = Callable[[Roll, Mapping[str, Any], Actor, int, str], dict[str, Any]]


def _record(roll: Roll, event: str, actor: Actor, now: str, **what: Any) -> None:
    roll.history.append({"event": event, "at": now, "by": actor.name or actor.participant, **what})


def _check_person(roll: Roll, person: Person, delegations: Mapping[str, Delegation]) -> None:
    if person.delegation is not None and person.delegation not in delegations:
        raise refuse(f"{person.id}: no delegation {person.delegation!r} on the roll", 409)
    for other in roll.people.values():
        if other.id == person.id:
            continue
        if person.subject is not None and other.subject == person.subject:
            raise refuse(f"{person.id}: subject already belongs to {other.id}", 409)
        if person.email is not None and other.email == person.email:
            raise refuse(f"{person.id}: e-mail already belongs to {other.id}", 409)


def _keeps_a_manager(people: Iterable[Person]) -> None:
    """Once a roll names people, only they get in: someone on it must be able to change it again."""
    people = list(people)
    if people and not any(p.role in _MANAGERS for p in people):
        raise refuse(
            "the roll must keep a chair, vice-chair or secretariat: nobody else could change it again", 409
        )


def _delegation_add(roll: Roll, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    delegation = Delegation.from_json(c.get("delegation"))
    if delegation.name in roll.delegations:
        raise refuse(f"{delegation.name!r} is already on the roll", 409)
    if len(roll.delegations) >= MAX_ROLL_DELEGATIONS:
        raise refuse(f"a roll holds at most {MAX_ROLL_DELEGATIONS} delegations", 413)
    roll.delegations[delegation.name] = delegation
    _record(roll, "delegation added", actor, now, delegation=delegation.name)
    return delegation.to_json(roll.profile)


def _delegation_update(roll: Roll, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    name = c.get("name")
    current = roll.delegations.get(name) if isinstance(name, str) else None
    if current is None:
        raise refuse(f"no delegation {name!r} on the roll", 404)
    changes = c.get("changes")
    if not isinstance(changes, Mapping) or not changes:
        raise refuse("changes must be an object with group, kind or negotiating")
    unknown = set(changes) - {"group", "kind", "negotiating"}
    if unknown:
        raise refuse(f"cannot change {', '.join(sorted(unknown))} (rename: remove and add)")
    merged = Delegation.from_json({**current.to_json(), **changes})
    roll.delegations[merged.name] = merged
    _record(roll, "delegation updated", actor, now, delegation=merged.name, changes=dict(changes))
    return merged.to_json(roll.profile)


def _delegation_remove(roll: Roll, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    name = c.get("name")
    if not isinstance(name, str) or name not in roll.delegations:
        raise refuse(f"no delegation {name!r} on the roll", 404)
    members = roll.members(name)
    if members:
        raise refuse(
            f"{len(members)} people are accredited to {name!r} ({', '.join(p.id for p in members[:5])}"
            f"{', …' if len(members) > 5 else ''}): withdraw them first",
            409,
        )
    del roll.delegations[name]
    _record(roll, "delegation removed", actor, now, delegation=name)
    return {"name": name, "removed": True}


def _accredit(roll: Roll, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    person = Person.from_json(c.get("person"))
    _check_person(roll, person, roll.delegations)
    before = roll.people.get(person.id)
    if before is None and len(roll.people) >= MAX_ROLL_PEOPLE:
        raise refuse(f"a roll holds at most {MAX_ROLL_PEOPLE} people", 413)
    _keeps_a_manager([*(p for p in roll.people.values() if p.id != person.id), person])
    roll.people[person.id] = person
    _record(
        roll,
        "accredited" if before is None else "accreditation changed",
        actor,
        now,
        person=person.id,
        delegation=person.delegation,
        role=str(person.role),
    )
    return person.to_json()


def _withdraw(roll: Roll, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    person_id = c.get("id")
    person = roll.people.get(person_id) if isinstance(person_id, str) else None
    if person is None:
        raise refuse(f"no person {person_id!r} on the roll", 404)
    _keeps_a_manager(p for p in roll.people.values() if p.id != person.id)
    del roll.people[person.id]
    _record(roll, "accreditation withdrawn", actor, now, person=person.id, delegation=person.delegation)
    return {"id": person.id, "withdrawn": True}


def _import(roll: Roll, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    """Many delegations and people at once (one log entry): added or updated; with ``replace``, the roll
    becomes exactly what is given."""
    raw_delegations, raw_people = c.get("delegations", []), c.get("people", [])
    if not isinstance(raw_delegations, list) or not isinstance(raw_people, list):
        raise refuse("delegations and people must be lists")
    replace = c.get("replace", False)
    if not isinstance(replace, bool):
        raise refuse("replace must be true or false")
    delegations = {} if replace else dict(roll.delegations)
    seen_delegations: set[str] = set()
    for index, item in enumerate(raw_delegations):
        delegation = _at(index, "delegations", Delegation.from_json, item)
        if delegation.name in seen_delegations:
            raise refuse(f"delegations[{index}]: {delegation.name!r} is listed twice")
        seen_delegations.add(delegation.name)
        delegations[delegation.name] = delegation
    people = {} if replace else dict(roll.people)
    seen_people: set[str] = set()
    for index, item in enumerate(raw_people):
        person = _at(index, "people", Person.from_json, item)
        if person.id in seen_people:
            raise refuse(f"people[{index}]: {person.id!r} is listed twice")
        seen_people.add(person.id)
        people[person.id] = person
    if len(delegations) > MAX_ROLL_DELEGATIONS or len(people) > MAX_ROLL_PEOPLE:
        raise refuse(
            f"a roll holds at most {MAX_ROLL_DELEGATIONS} delegations and {MAX_ROLL_PEOPLE} people", 413
        )
    staged = Roll(delegations, people, roll.profile)
    subjects: dict[str, str] = {}
    emails: dict[str, str] = {}
    for person in people.values():
        if person.delegation is not None and person.delegation not in delegations:
            raise refuse(f"{person.id}: no delegation {person.delegation!r} on the roll", 409)
        for key, index in ((person.subject, subjects), (person.email, emails)):
            if key is None:
                continue
            if key in index and index[key] != person.id:
                raise refuse(f"{person.id}: subject or e-mail already belongs to {index[key]}", 409)
            index[key] = person.id
    _keeps_a_manager(staged.people.values())
    added = len(set(people) - set(roll.people))
    removed = len(set(roll.people) - set(people))
    changed = sum(1 for pid, p in people.items() if pid in roll.people and roll.people[pid] != p)
    roll.delegations, roll.people = delegations, people
    summary = {
        "delegations": len(delegations),
        "people": len(people),
        "added": added,
        "changed": changed,
        "removed": removed,
        "replace": replace,
    }
    _record(roll, "roll imported", actor, now, **summary)
    return summary


def _at(index: int, where: str, parse: Callable[[Any], Any], item: Any) -> Any:
    try:
        return parse(item)
    except Exception as exc:
        detail = getattr(exc, "detail", str(exc))
        status = getattr(exc, "status", 422)
        raise refuse(f"{where}[{index}]: {detail}", status) from exc


def _profile(roll: Roll, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    profile = _enum("profile", ProcedureProfile, c.get("profile"))
    before = roll.profile
    roll.profile = profile
    _record(roll, "profile set", actor, now, profile=str(profile), was=str(before))
    return {"profile": str(profile)}


ROLL_COMMANDS: dict[str, RollHandler] = {
    "roll.delegation.add": _delegation_add,
    "roll.delegation.update": _delegation_update,
    "roll.delegation.remove": _delegation_remove,
    "roll.person.accredit": _accredit,
    "roll.person.withdraw": _withdraw,
    "roll.import": _import,
    "profile.set": _profile,
}
