"""deploy/systemd's units run what README "Several hosts" says, and systemd accepts them."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
CHECKOUT = "/srv/exotel-calls"  # where the units expect the repository
BLOCKS = re.findall(r"^```sh\n(.*?)^```", (ROOT / "README.md").read_text(), re.S | re.M)


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError:  # a line of a quoted text running over several lines: no command of its own
        return []


README_COMMANDS = [_words(line) for block in BLOCKS for line in block.replace("\\\n", " ").splitlines()]


def _exec_start(unit: Path) -> list[str]:
    (line,) = re.findall(r"^ExecStart=(.*)$", unit.read_text(), re.M)
    return shlex.split(line)


@pytest.mark.parametrize("unit, instance", [("exotel-calls-web@.service", "10.0.0.11"), ("exotel-calls-worker.service", "")])
def test_each_unit_runs_the_readme_command_from_the_checkout(unit, instance):
    words = [word.replace("%i", instance) for word in _exec_start(UNITS / unit)]
    assert words[0].startswith(f"{CHECKOUT}/.venv/bin/")
    assert f"WorkingDirectory={CHECKOUT}" in (UNITS / unit).read_text()  # so .venv/bin/... and gunicorn.conf.py resolve
    words[0] = words[0].removeprefix(f"{CHECKOUT}/")
    assert words in README_COMMANDS, f"{unit}: {shlex.join(words)!r} is not a command of the README"


def test_systemd_accepts_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for unit in UNITS.glob("*.service"):  # with the checkout here, so that the programs exist
        (tmp_path / unit.name).write_text(unit.read_text().replace(CHECKOUT, str(ROOT)))
    for name in ("exotel-calls-web@10.0.0.11.service", "exotel-calls-worker.service"):
        result = subprocess.run([analyze, "verify", f"./{name}"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and not result.stderr.strip(), result.stderr
