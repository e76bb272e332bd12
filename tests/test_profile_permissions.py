"""The README's permission table, cell by cell, under each procedure profile, on a draft with a roll: over
REST (each command by each seat) and over the websocket (typing into the text in open and pen-holder modes).
One server per profile; every wrong cell is reported at once. (Meeting rows are tested cell by cell in
tests/test_meetings.py, translators in tests/test_languages.py, profile-independent rows without a roll in
tests/test_permissions.py.)"""

from __future__ import annotations

import secrets

import httpx
import pytest
from pycrdt import Array

from client.session import RoomClient
from crdt.procedure.draft import parse_plain_text
from tests.conftest import eventually
from tests.test_deliberation import DRAFT

#: Seats on the roll: participant id → (delegation, group, kind, role).
SEATS = {
    "chair": (None, None, None, "chair"),
    "sec": (None, None, None, "secretariat"),
    "ch-1": ("Switzerland", "government", "member_state", "head_of_delegation"),
    "apc-1": (
        "Association for Progressive Communications",
        "civil_society",
        "accredited_organisation",
        "delegate",
    ),
    "obs": (None, None, None, "observer"),
    "arch": (None, None, None, "archivist"),
}
#: Another Member State, whose amendment the others co-sponsor.
OTHER = ("br-1", "Brazil")
CELL_SEATS = list(SEATS)

# (action, profile) → the seats allowed; profile None: both.
REST_CELLS: dict[tuple[str, str | None], set[str]] = {
    ("annotate", None): {"chair", "sec", "ch-1", "apc-1", "obs"},
    ("propose", "multistakeholder"): {"ch-1", "apc-1"},
    ("propose", "intergovernmental"): {"ch-1"},
    ("cosponsor", "multistakeholder"): {"ch-1", "apc-1"},
    ("cosponsor", "intergovernmental"): {"ch-1"},
    ("position", None): {"ch-1", "apc-1"},
    ("manage_process", None): {"chair", "sec"},
    ("manage_roll", None): {"chair", "sec"},
    ("set_procedure", None): {"chair"},
    ("decide", None): {"chair"},
    ("read", None): set(SEATS),
    ("verify_audit", None): {"chair", "sec", "arch"},
}
# Typing into the text, by mode and profile.
EDIT_CELLS = {
    ("open", "multistakeholder"): {"chair", "sec", "ch-1", "apc-1"},
    ("open", "intergovernmental"): {"chair", "sec", "ch-1"},
    ("pen_holder", None): {"sec", "apc-1"},  # apc-1 is the named pen-holder
}


def roll_json():
    delegations = {d: {"name": d, "group": g, "kind": k} for d, g, k, _ in SEATS.values() if d is not None}
    delegations["Brazil"] = {"name": "Brazil", "group": "government", "kind": "member_state"}
    people = [
        {"id": pid, "name": pid, "delegation": d, "role": role} for pid, (d, _g, _k, role) in SEATS.items()
    ]
    people.append({"id": OTHER[0], "name": "Delegate of Brazil", "delegation": OTHER[1], "role": "delegate"})
    return {"delegations": list(delegations.values()), "people": people}


class Seats:
    def __init__(self, server, tokens):
        self.server = server
        self.http = httpx.Client(base_url=server.http, timeout=15)
        # Every token claims to be a chair of everything: the roll decides.
        self.tokens = {pid: tokens("chair", user=pid, delegation="claimed") for pid in [*SEATS, OTHER[0]]}

    def __call__(self, who: str, method: str, path: str, json=None) -> httpx.Response:
        return self.http.request(
            method, path, json=json, headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )

    def ok(self, who: str, method: str, path: str, json=None):
        response = self(who, method, path, json)
        assert response.status_code in (200, 201), (who, path, response.text)
        return response.json()


async def typed(server, token: str, marker: str) -> bool:
    """Type ``marker`` into the second paragraph: True when the server took it, False when refused."""
    async with RoomClient(server.ws, "tunis", token=token, reconnect=False) as client:
        await client.wait_synced()
        client.doc.get("paragraphs", type=Array)[1]["text"].insert(0, marker)

        def outcome():
            if client.closed.is_set():
                assert client.close_code == 4403, client.close_code
                return "refused"
            texts = httpx.get(f"{server.http}/api/drafts/tunis", headers={"Authorization": f"Bearer {token}"})
            if texts.status_code == 200 and marker in texts.json()["paragraphs"][1]["text"]:
                return "taken"
            return None

        return await eventually(outcome) == "taken"


@pytest.mark.parametrize("profile", ["multistakeholder", "intergovernmental"])
async def test_every_cell_by_profile(server, tokens, profile):
    seats = Seats(server, tokens)
    paragraphs = [{"id": p.id, "kind": p.kind, "text": p.text} for p in parse_plain_text(DRAFT)]
    seats.ok("chair", "POST", "/api/drafts", {"id": "tunis", "title": "Tunis", "paragraphs": paragraphs})
    seats.ok("chair", "POST", "/api/drafts/tunis/roll/import", roll_json())
    seats.ok("chair", "PUT", "/api/drafts/tunis/profile", {"profile": profile})
    wrong: list[str] = []
    checked = 0

    def request(action: str, who: str) -> httpx.Response:
        other = seats.ok(
            OTHER[0],
            "POST",
            "/api/drafts/tunis/amendments",
            {"paragraph": "p2", "start": 0, "end": 3, "kind": "deletion"},
        )["result"]["id"]
        nonce = secrets.token_hex(3)
        calls = {
            "annotate": ("POST", "/api/drafts/tunis/annotations", {"paragraph": "p2", "body": "A comment"}),
            "propose": (
                "POST",
                "/api/drafts/tunis/amendments",
                {"paragraph": "p2", "start": 0, "end": 3, "kind": "substitution", "text": "Each"},
            ),
            "cosponsor": ("POST", f"/api/drafts/tunis/amendments/{other}/cosponsor", None),
            "position": ("PUT", f"/api/drafts/tunis/positions/{other}", {"stance": "objection"}),
            "manage_process": ("PUT", "/api/drafts/tunis/paragraphs/p2/status", {"status": "bracketed"}),
            "manage_roll": (
                "PUT",
                f"/api/drafts/tunis/roll/people/new-{nonce}",
                {"name": "New delegate", "delegation": "Brazil", "role": "adviser"},
            ),
            "set_procedure": ("PUT", "/api/drafts/tunis/editing", {"mode": "open"}),
            "decide": ("POST", f"/api/drafts/tunis/amendments/{other}/reject", {"reason": "Not now"}),
            "read": ("GET", "/api/drafts/tunis", None),
            "verify_audit": ("GET", "/api/drafts/tunis/audit/verify", None),
        }
        return seats(who, *calls[action])

    for (action, only), allowed in REST_CELLS.items():
        if only not in (None, profile):
            continue
        for who in CELL_SEATS:
            checked += 1
            response = request(action, who)
            ok = response.status_code in (200, 201)
            if ok != (who in allowed):
                wrong.append(f"{action} by {who}: {response.status_code} {response.text[:120]}")
            elif not ok and response.status_code != 403:
                wrong.append(f"{action} by {who}: {response.status_code}, not 403")
            if action == "position" and ok:
                view = response.json()["result"].get("view", False)
                if view != (profile == "intergovernmental" and who == "apc-1"):
                    wrong.append(f"position by {who}: view={view}")

    for (mode, only), allowed in EDIT_CELLS.items():
        if only not in (None, profile):
            continue
        holders = ["apc-1"] if mode == "pen_holder" else []
        seats.ok("chair", "PUT", "/api/drafts/tunis/editing", {"mode": mode, "pen_holders": holders})
        for who in CELL_SEATS:
            checked += 1
            if await typed(server, seats.tokens[who], f"[{mode} {who}]") != (who in allowed):
                wrong.append(f"typing in {mode} mode by {who}")
    assert wrong == []
    assert checked == len(CELL_SEATS) * (len(REST_CELLS) - 2 + len(EDIT_CELLS) - 1)  # this profile's rows
