"""The REST API fuzzed from its own OpenAPI document (schemathesis) against a real server: no request,
valid or not, gets a 5xx, every refusal is a problem document, and a refused request stores nothing.

The budget: ``FUZZ_EXAMPLES`` generated requests per operation and generation mode (valid bodies and
parameters, then invalid ones), derandomised so CI runs the same requests each time
(``PLENARY_FUZZ_EXAMPLES`` raises it for a longer run). Each operation works on a draft of its own, so what
one operation does (a roll that locks the chair out, a lock) does not hide the others' paths; each request
carries a token of its own, so an entry in the log by that participant after a refusal is a stored change.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from tests.conftest import ServerProcess, Tokens

#: Requests per operation and mode; the README's testing section states it.
FUZZ_EXAMPLES = int(os.environ.get("PLENARY_FUZZ_EXAMPLES", "5"))
PARAGRAPHS = ("The first paragraph of the text.", "A second paragraph, to amend.")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("fuzz")
    server = ServerProcess(f"sqlite:///{workdir / 'plenary.sqlite3'}", workdir)
    server.start()
    yield server
    server.stop()


class Store:
    """What a refused request must not change, read from the server's database."""

    def __init__(self, server: ServerProcess) -> None:
        self.path = server.database_url.removeprefix("sqlite:///")

    def _one(self, sql: str, *args: Any) -> Any:
        with sqlite3.connect(self.path, timeout=30) as db:
            return db.execute(sql, args).fetchone()[0]

    def records(self) -> tuple[int, int, int]:
        return (
            self._one("SELECT count(*) FROM draft"),
            self._one("SELECT count(*) FROM revocation"),
            self._one("SELECT count(*) FROM attachment"),
        )

    def entries_by(self, participant: str) -> int:
        return self._one("SELECT count(*) FROM log_entry WHERE participant = ?", participant)


class Fuzzer:
    """Sends generated requests, each with a token of its own, and notes what went wrong."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.store = Store(server)
        self.tokens = Tokens()
        self.sent = 0
        self.failures: list[str] = []

    def run(self, strategy: Any, mode: GenerationMode) -> None:
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def check(case: Any) -> None:
            self.send(case, mode)

        check()

    def send(self, case: Any, mode: GenerationMode) -> None:
        self.sent += 1
        who = f"fz{mode.value[:3]}{self.sent}"  # the two modes' tests may share the server
        token = self.tokens("chair", user=who, name="Fuzz Chair")
        before = self.store.records()
        # The token is ours, whatever the generator made of the security scheme.
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call(base_url=self.server.http)
        where = f"{case.method} {case.formatted_path} ({mode.value}): {response.status_code}"
        if response.status_code >= 500:
            self.failures.append(f"{where} {response.text[:300]} for {case.as_curl_command()[:600]}")
        elif response.status_code >= 400:
            content_type = (response.headers.get("content-type") or [""])[0]
            if not content_type.startswith("application/problem+json"):
                self.failures.append(f"{where}: not a problem document")
            if self.store.entries_by(who) or self.store.records() != before:
                self.failures.append(f"{where}: refused, but stored a change")


# One test per mode: the two halves of the budget run side by side under pytest-xdist.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_the_api_never_answers_5xx_and_refusals_store_nothing(served: ServerProcess, mode: GenerationMode):
    document = httpx.get(f"{served.http}/api/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    fuzzer = Fuzzer(served)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50  # the whole API is described

    for number, operation in enumerate(operations):
        draft = f"fuzz-{mode.value}-{number}"
        served.create_draft(draft, *PARAGRAPHS)
        fixed = {"draft": draft} if "{draft}" in operation.path else {}
        try:
            fuzzer.run(operation.as_strategy(generation_mode=mode, path_parameters=fixed), mode)
        except Exception as exc:  # one operation's error must not hide the others'
            fuzzer.failures.append(
                f"{operation.method.upper()} {operation.path} ({mode.value}): {exc!r}"[:600]
            )
    assert fuzzer.sent >= len(operations)  # every operation was called (in this mode)
    assert not fuzzer.failures, f"{len(fuzzer.failures)} failures:\n" + "\n".join(fuzzer.failures[:40])
