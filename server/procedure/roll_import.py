"""``plenary roll import`` and ``plenary roll show``: the roll from a CSV file, sent to a running server.

The roll is a procedure fact in the draft's log, so the command goes through the server (as the chair or
the secretariat, with their token), never around it: the running server's state and the log stay one.
The file is checked row by row first (crdt/procedure/rollfile.py); nothing is sent while a row is wrong.
Large rolls go in batches of :data:`BATCH` people, with progress on standard error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from crdt.procedure.rollfile import COLUMNS, parse_roll_csv
from server.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

#: People per request: well under the API's 1 MiB body limit.
BATCH = 1_000
DEFAULT_SERVER = "http://127.0.0.1:8000"
_BUREAU_FIRST = {"chair": 0, "vice_chair": 0, "secretariat": 1}


def add_commands(commands: Any) -> None:
    roll = commands.add_parser(
        "roll",
        help="the roll of a draft",
        description="The roll of a draft: its delegations and the people accredited to each.",
    )
    sub = roll.add_subparsers(title="roll commands", metavar="COMMAND")
    importer = sub.add_parser(
        "import",
        help="import a roll from a CSV file",
        description="Import a roll from a CSV file (columns: " + ", ".join(COLUMNS) + "; see the README). "
        "Every row is checked first; errors name their line. Sent to the running server as the token's "
        "holder (the chair or the secretariat).",
    )
    importer.add_argument("file", help="the CSV file ('-' for standard input)")
    importer.add_argument("--draft", required=True, help="the draft id")
    importer.add_argument(
        "--replace", action="store_true", help="the roll becomes exactly the file (default: add or update)"
    )
    importer.add_argument("--check", action="store_true", help="only check the file; send nothing")
    _connection_options(importer)
    importer.add_argument("--json", action="store_true", help="print the result as JSON")
    importer.set_defaults(run=run_import)

    show = sub.add_parser("show", help="print a draft's roll", description="Print a draft's roll.")
    show.add_argument("--draft", required=True, help="the draft id")
    _connection_options(show)
    show.add_argument("--json", action="store_true", help="print the roll as JSON")
    show.set_defaults(run=run_show)


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help=f"the server's URL (env PLENARY_SERVER, default {DEFAULT_SERVER})")
    parser.add_argument("--token", help="an access token (env PLENARY_TOKEN)")


class _Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _request(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    base = (args.server or os.environ.get("PLENARY_SERVER") or DEFAULT_SERVER).rstrip("/")
    token = args.token or os.environ.get("PLENARY_TOKEN")
    if not token:
        raise ValueError("no token: pass --token or set PLENARY_TOKEN (a chair's or the secretariat's)")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail") or exc.reason
        except (ValueError, AttributeError):
            detail = exc.reason
        raise _Refused(exc.code, str(detail)) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ValueError(f"cannot reach the server at {base}: {reason}") from exc


def _draft_path(draft: str) -> str:
    return f"/api/drafts/{urllib.parse.quote(draft, safe='')}"


def run_import(args: argparse.Namespace) -> int:
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8-sig", newline="") as handle:
                text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"plenary: cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return EXIT_USAGE
    parsed = parse_roll_csv(text)
    name = "<stdin>" if args.file == "-" else args.file
    if parsed.errors:
        for error in parsed.errors:
            print(f"plenary: {name}:{error.line}: {error.message}", file=sys.stderr)
        if args.json:
            print(
                json.dumps(
                    {"ok": False, "errors": [{"line": e.line, "message": e.message} for e in parsed.errors]}
                )
            )
        return EXIT_USAGE
    if args.check:
        result = {"ok": True, "delegations": len(parsed.delegations), "people": len(parsed.people)}
        print(
            json.dumps(result)
            if args.json
            else f"{name}: {result['delegations']} delegations, {result['people']} people: the file is fine"
        )
        return EXIT_OK
    # The Bureau first: a replaced roll must keep someone who may go on changing it.
    people = sorted(parsed.people, key=lambda p: _BUREAU_FIRST.get(p["role"], 2))
    batches = [people[i : i + BATCH] for i in range(0, len(people), BATCH)] or [[]]
    sent = 0
    result: dict[str, Any] = {}
    try:
        for number, batch in enumerate(batches):
            body = {
                "delegations": parsed.delegations if number == 0 else [],
                "people": batch,
                "replace": args.replace and number == 0,
            }
            result = _request(args, "POST", _draft_path(args.draft) + "/roll/import", body)["result"]
            sent += len(batch)
            if len(batches) > 1:
                print(f"plenary: {sent}/{len(people)} people imported", file=sys.stderr, flush=True)
    except _Refused as exc:
        done = f" ({sent} of {len(people)} people were imported before)" if sent else ""
        print(f"plenary: the server refused the roll ({exc.status}): {exc.detail}{done}", file=sys.stderr)
        return EXIT_FAILED
    summary = {
        "ok": True,
        "draft": args.draft,
        "delegations": result.get("delegations"),
        "people": result.get("people"),
        "sent": {"delegations": len(parsed.delegations), "people": len(people)},
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"roll of {args.draft!r}: {summary['delegations']} delegations, {summary['people']} people "
            f"({len(parsed.delegations)} delegations and {len(people)} people from {name})"
        )
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    try:
        roll = _request(args, "GET", _draft_path(args.draft) + "/roll")
    except _Refused as exc:
        print(f"plenary: {exc.detail} ({exc.status})", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(roll, ensure_ascii=False))
        return EXIT_OK
    out = sys.stdout
    print(f"Roll of {args.draft} ({roll['profile']} profile)", file=out)
    members: dict[str | None, list[dict[str, Any]]] = {}
    for person in roll["people"]:
        members.setdefault(person["delegation"], []).append(person)
    bureau = members.pop(None, [])
    if bureau:
        print("\nBureau and secretariat", file=out)
        for person in bureau:
            print(f"  {person['name']} ({person['role'].replace('_', ' ')}; {person['id']})", file=out)
    for delegation in roll["delegations"]:
        rights = "negotiates" if delegation["negotiates"] else "views only"
        kind = delegation["kind"].replace("_", " ")
        print(f"\n{delegation['name']} — {delegation['group'].replace('_', ' ')}, {kind}, {rights}", file=out)
        for person in members.get(delegation["name"], []):
            print(f"  {person['name']} ({person['role'].replace('_', ' ')}; {person['id']})", file=out)
    if not roll["people"] and not roll["delegations"]:
        print("\n(no roll: identity comes from tokens)", file=out)
    return EXIT_OK
