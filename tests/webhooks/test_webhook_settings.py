"""WEBHOOK_ALLOW_PRIVATE: 1 lifts the private-address check; unset refuses; a value that is neither stops start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp.config import ConfigError, load_settings


@pytest.mark.parametrize("value, allowed", [(None, False), ("", False), ("0", False), ("1", True), ("true", True)])
def test_the_flag_is_read(tmp_path: Path, value, allowed):
    env = {"SECRET_KEY": "k" * 40} | ({"WEBHOOK_ALLOW_PRIVATE": value} if value is not None else {})
    assert load_settings(env, tmp_path).webhook_allow_private is allowed


def test_a_bad_value_names_the_variable(tmp_path: Path):
    with pytest.raises(ConfigError) as refused:
        load_settings({"SECRET_KEY": "k" * 40, "WEBHOOK_ALLOW_PRIVATE": "maybe"}, tmp_path)
    assert "WEBHOOK_ALLOW_PRIVATE" in str(refused.value)
