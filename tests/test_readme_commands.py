"""The README's commands work as pasted on a fresh clone after `make run`, from the repository's root.

Every command in a ```sh block, and every inline one that starts with `.venv/bin/`, names a program that is
there (the project's `.venv`, not one on the PATH that `make run` never put there), a Flask command and options
the CLI has, a module that exists, a make target the Makefile has; the token-capturing line, run as written
against a scratch database, captures a token that the API accepts.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```sh\n(.*?)^```", README, re.S | re.M)
# Programs a fresh machine has or the README tells how to get; anything of this project's comes from .venv/bin.
SYSTEM = {"make", "curl", "export", "rm", "sqlite3", "psql", "python3", "tail", "printf", "nft"}
PROJECT = {"flask", "gunicorn", "python", "pip", "pytest"}


def _commands(block: str) -> list[list[str]]:
    """Each simple command of a block (split at lines, pipes, `&&`, `;` and `$(`), its variable assignments
    dropped. A command substitution inside double quotes stays its word's."""
    text = "\n".join("; " + line for line in block.replace("\\\n", " ").splitlines())  # a comment ends at its line
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    commands, words = [], []
    for token in [*lexer, ";"]:
        if set(token) <= set(";&|()"):
            while words and re.fullmatch(r"[A-Z_]+=.*|\$", words[0]):
                words.pop(0)
            if words:
                commands.append(words)
            words = []
        else:
            words.append(token)
    return commands


SH_COMMANDS = [words for block in BLOCKS for words in _commands(block)]
# Inline commands of the prose; one ending in "..." stands for the commands listed after it.
INLINE = [span for span in re.findall(r"`(\.venv/bin/[^`]+)`", README.replace("\n", " ")) if "..." not in span]


def _flask_command(app, words: list[str]) -> tuple[click.Command, list[str]]:
    """The CLI command `words` (after `--app webapp`) name, and the arguments left for it."""
    command: click.Command = app.cli
    words = list(words)
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        found = command.commands.get(words[0])
        assert found is not None, f"no command {words[0]!r} in the Flask CLI"
        command = found
        words.pop(0)
    assert not isinstance(command, click.Group), f"{command.name} needs a subcommand"
    return command, words


def test_the_readme_has_commands_to_check():
    assert len(SH_COMMANDS) >= 15 and len(INLINE) >= 5
    assert any(words[0] == ".venv/bin/flask" for words in SH_COMMANDS)


def test_every_pasted_command_names_a_program_that_is_there():
    makefile = (ROOT / "Makefile").read_text()
    for words in SH_COMMANDS + [shlex.split(span) for span in INLINE]:
        program = words[0]
        if program in SYSTEM:
            if program == "make":
                for target in words[1:]:
                    assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"make {target}: no such target"
            continue
        assert program not in PROJECT, f"{' '.join(words)}: `{program}` is not on the PATH after `make run`; use .venv/bin/{program}"
        assert program.startswith(".venv/bin/"), f"{' '.join(words)}: unknown program"
        assert (ROOT / program).exists(), f"{program} is missing: `make run` creates .venv"
        if words[1:2] == ["-m"]:
            module = words[2]
            assert importlib.util.find_spec(module) is not None or (ROOT / module).is_dir(), f"no module {module}"
        if program.endswith("/gunicorn"):
            assert (ROOT / words[words.index("-c") + 1]).is_file()


def test_every_flask_command_and_option_exists(app):
    for words in SH_COMMANDS:
        if words[0] != ".venv/bin/flask":
            continue
        assert words[1:3] == ["--app", "webapp"], words
        command, rest = _flask_command(app, words[3:])
        command.make_context(command.name or "", rest)  # refuses an unknown option or a bad value
    for span in INLINE:  # prose may hold placeholders (EMAIL): the command itself must exist
        words = shlex.split(span)
        if words[0] == ".venv/bin/flask":
            _flask_command(app, words[3:])


@pytest.fixture
def instance_setup_code():
    """The repository's instance/setup_code (a fresh clone's pending first-admin code), kept as it was:
    the app the command starts forgets the code when its database has a user."""
    path = ROOT / "instance" / "setup_code"
    before = path.read_bytes() if path.exists() else None
    yield
    if before is not None:
        path.write_bytes(before)


def test_the_token_line_captures_a_token_the_api_accepts(app, client, user, database_url, instance_setup_code):
    (line,) = [line for block in BLOCKS for line in block.splitlines() if line.startswith("TOKEN=")]
    result = subprocess.run(
        ["bash", "-c", line + '\nprintf %s "$TOKEN"'], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "SECRET_KEY": app.config["SECRET_KEY"]},
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout
    assert re.fullmatch(r"exo_[\w-]{20,}", token), (token, result.stderr[-500:])
    assert token not in result.stderr
    assert client.get("/api/calls", headers={"Authorization": f"Bearer {token}"}).status_code == 200
