"""A user's mistake on the command line gets one line and the usage exit code (2), never a traceback:
bad database URLs, unreachable databases, files that are not databases, missing files, bad ``--at``,
unknown drafts, a port already taken (``./run demo --port P``: nothing printed or created before it
fails). And ``plenary secret`` makes the secret ``token issue`` asks for."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.cli import main
from tests.conftest import ROOT, TEST_SECRET, free_port, plenary_command

UNREACHABLE_PG = "postgresql://nobody@127.0.0.1:1/nothing"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "plenary.sqlite3"
    url = f"sqlite:///{path}"
    source = path.parent / "t.md"
    source.write_text("Hello.\n\nWorld.\n")
    done = plenary_command(
        "drafts", "import", str(source), "--id", "t", "--title", "T", "--database-url", url
    )
    assert done.returncode == 0, done.stderr
    return url


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """``plenary …`` run in this process (``server.cli.main``, the code the command runs): a subprocess
    costs seconds here; the ones that must be real (serve, ./run demo, the environment) use one."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Ran:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


def one_line_refusal(result, code: int = 2) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("plenary: "), result.stderr
    return lines[0]


# Each reading command with one kind of bad database (every kind is tried by some command; a subprocess
# costs a second or two, so not all 24 pairs).
@pytest.mark.parametrize(
    ("command", "url"),
    [
        (("audit", "verify"), "foo"),
        (("audit", "head", "--draft", "t"), "mysql://x@y/z"),
        (("history", "t"), "sqlite:////nonexistent/dir/x.db"),
        (("blame", "t"), UNREACHABLE_PG),
        (("events", "t"), "foo"),
        (("export", "t", "--format", "summary"), UNREACHABLE_PG),
    ],
)
def test_bad_or_unreachable_databases_are_one_line_and_exit_2(cli, command, url, tmp_path):
    result = cli(*command, "--database-url", url, env={"PLENARY_SECRET": TEST_SECRET}, cwd=tmp_path)
    one_line_refusal(result)


def test_a_bad_database_url_in_the_environment_is_not_tampering(tmp_path):
    # Exit 1 from audit verify means "tampering found": a bad URL must not say that.
    result = plenary_command("audit", "verify", env={"PLENARY_DATABASE_URL": "foo"}, cwd=tmp_path)
    assert "is not a URL" in one_line_refusal(result)


def test_a_file_that_is_not_a_database(cli, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    for command in (("history", "t"), ("export", "t", "-f", "markdown"), ("audit", "verify")):
        one_line_refusal(cli(*command, "--database-url", f"sqlite:///{junk}", cwd=tmp_path))


def test_bad_moments_drafts_and_files(cli, database, tmp_path):
    db = ("--database-url", database)
    one_line_refusal(cli("history", "t", "--at", "garbage", *db))
    one_line_refusal(cli("export", "t", "-f", "summary", "--at", "yesterday", *db))
    one_line_refusal(cli("export", "t", "-f", "summary", "--at", "99999", *db))
    one_line_refusal(cli("history", "nodraft", *db), code=1)
    one_line_refusal(cli("export", "nodraft", "-f", "summary", *db), code=1)
    one_line_refusal(cli("export", "t", "-f", "akn", "--out", "/nonexistent/dir/x.zip", *db))
    one_line_refusal(cli("drafts", "import", "/nonexistent.md", "--id", "x", "--title", "X", *db))
    one_line_refusal(cli("drafts", "import", str(tmp_path), "--id", "x", "--title", "X", *db))
    one_line_refusal(cli("drafts", "import", "-", "--id", "Bad Id", "--title", "X", *db))
    one_line_refusal(cli("audit", "check-receipt", "/nonexistent.json"))


@pytest.mark.parametrize("url", ["foo", UNREACHABLE_PG])
def test_serve_with_a_bad_or_unreachable_database(url, tmp_path):
    result = plenary_command(
        "serve",
        "--database-url",
        url,
        "--port",
        str(free_port()),
        env={"PLENARY_SECRET": TEST_SECRET},
        cwd=tmp_path,
    )
    one_line_refusal(result)


def test_demo_on_a_taken_port_fails_before_printing_or_creating_anything(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        database = tmp_path / "demo.sqlite3"
        result = plenary_command(
            "serve",
            "--dev",
            "--demo",
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{database}",
            cwd=tmp_path,
        )
    line = one_line_refusal(result)
    assert f"127.0.0.1:{port}" in line and "in use" in line
    assert result.stdout == "" and "DEVELOPMENT MODE" not in result.stderr
    assert not database.exists()  # no demo draft, not even an empty database


def test_run_demo_on_a_taken_port_fails_the_same_way(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        import subprocess

        result = subprocess.run(
            [
                str(ROOT / "run"),
                "demo",
                "--port",
                str(port),
                "--database-url",
                f"sqlite:///{tmp_path / 'd.db'}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 2 and "Address already in use" in result.stderr, result.stderr
    assert "DEVELOPMENT MODE" not in result.stderr and "token=" not in result.stderr + result.stdout


def test_secret_makes_what_token_issue_needs(cli):
    short = cli(
        "token",
        "issue",
        "--user",
        "u",
        "--name",
        "N",
        "--delegation",
        "D",
        "--group",
        "government",
        "--role",
        "delegate",
        env={"PLENARY_SECRET": "short"},
    )
    assert "plenary secret" in one_line_refusal(short)
    made = cli("secret")
    assert made.returncode == 0
    secret = made.stdout.strip()
    assert len(secret) >= 64 and "\n" not in secret
    as_json = json.loads(cli("secret", "--json").stdout)
    assert len(as_json["secret"]) >= 64 and as_json["secret"] != secret
    issued = cli(
        "token",
        "issue",
        "--user",
        "u",
        "--name",
        "N",
        "--delegation",
        "D",
        "--group",
        "government",
        "--role",
        "delegate",
        env={"PLENARY_SECRET": secret},
    )
    assert issued.returncode == 0 and issued.stdout.count(".") == 2  # a JWT


def test_secret_is_in_the_help(cli):
    assert "secret" in cli("--help").stdout
    assert Path(ROOT / "README.md").read_text().count("plenary secret") >= 1
