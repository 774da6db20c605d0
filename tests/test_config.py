"""Settings: the contract's variables, and one clear line for a bad one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from webapp.config import ConfigError, load_settings


def settings(tmp_path, **env):
    return load_settings(env, tmp_path)


def test_defaults_are_the_simulator_and_an_embedded_database(tmp_path):
    s = settings(tmp_path)
    assert s.use_simulator and s.api_origin is None
    assert s.database_url == f"sqlite:///{tmp_path / 'calls.db'}"
    assert s.exotel_region == "singapore" and s.exotel_timezone == "Asia/Kolkata"


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = settings(tmp_path).secret_key
    assert len(first) >= 32
    assert settings(tmp_path).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert settings(tmp_path, SECRET_KEY="x" * 20).secret_key == "x" * 20


def test_regions_and_override(tmp_path):
    creds = dict(EXOTEL_ACCOUNT_SID="a", EXOTEL_API_KEY="k", EXOTEL_API_TOKEN="t", PUBLIC_BASE_URL="https://calls.example.com")
    assert settings(tmp_path, **creds).api_origin == "https://api.exotel.com"
    assert settings(tmp_path, **creds, EXOTEL_REGION="Mumbai").api_origin == "https://api.in.exotel.com"
    assert settings(tmp_path, **creds, EXOTEL_API_BASE="http://127.0.0.1:9000/").api_origin == "http://127.0.0.1:9000"


def test_secrets_are_not_in_the_repr(tmp_path):
    s = settings(tmp_path, EXOTEL_ACCOUNT_SID="a", EXOTEL_API_KEY="k", EXOTEL_API_TOKEN="tok-secret-value",
                 SECRET_KEY="sk-secret-value-1234", EXOTEL_API_BASE="http://127.0.0.1:9000")
    assert "tok-secret-value" not in repr(s) and "sk-secret-value-1234" not in repr(s)


REAL_CREDENTIALS = {"EXOTEL_ACCOUNT_SID": "a", "EXOTEL_API_KEY": "k", "EXOTEL_API_TOKEN": "t"}


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"EXOTEL_API_KEY": "k"}, "EXOTEL_ACCOUNT_SID"),
        ({"EXOTEL_ACCOUNT_SID": "a", "EXOTEL_API_KEY": "k"}, "EXOTEL_API_TOKEN"),
        ({"EXOTEL_REGION": "delhi"}, "EXOTEL_REGION"),
        ({"EXOTEL_API_BASE": "not a url"}, "EXOTEL_API_BASE"),
        ({"EXOTEL_API_BASE": "https://key:token@api.exotel.com"}, "EXOTEL_API_BASE"),
        ({"PUBLIC_BASE_URL": "ftp://example.com"}, "PUBLIC_BASE_URL"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://localhost/x"}, "DATABASE_URL"),
        ({"EXOTEL_TIMEZONE": "Mars/Olympus"}, "EXOTEL_TIMEZONE"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        (REAL_CREDENTIALS, "PUBLIC_BASE_URL"),
        ({**REAL_CREDENTIALS, "EXOTEL_REGION": "mumbai"}, "PUBLIC_BASE_URL"),
        ({**REAL_CREDENTIALS, "EXOTEL_API_BASE": "https://api.exotel.com/"}, "PUBLIC_BASE_URL"),
        ({"ALLOWED_HOSTS": "https://calls.example.com"}, "ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": "calls.example.com:8080"}, "ALLOWED_HOSTS"),
        ({"TRUSTED_PROXY_HOPS": "-1"}, "TRUSTED_PROXY_HOPS"),
        ({"TRUSTED_PROXY_HOPS": "yes"}, "TRUSTED_PROXY_HOPS"),
        ({"RECORDINGS_DIR": "recordings"}, "RECORDINGS_DIR"),  # relative: the web and the worker start in different folders
        ({"RECORDINGS_DIR": "/dev/null/recordings"}, "RECORDINGS_DIR"),
        ({"RECORDINGS_KEEP_DAYS": "-1"}, "RECORDINGS_KEEP_DAYS"),
        ({"RECORDINGS_KEEP_DAYS": "a week"}, "RECORDINGS_KEEP_DAYS"),
    ],
)
def test_a_bad_value_names_its_variable(tmp_path, env, variable):
    with pytest.raises(ConfigError) as raised:
        settings(tmp_path, **env)
    assert raised.value.variable == variable
    assert str(raised.value.code).startswith(f"configuration error: {variable}:")


def test_recordings_are_archived_only_where_asked(tmp_path):
    assert (settings(tmp_path).recordings_dir, settings(tmp_path).recordings_keep_days) == (None, 0)
    folder = tmp_path / "archive" / "recordings"
    chosen = settings(tmp_path, RECORDINGS_DIR=str(folder), RECORDINGS_KEEP_DAYS="90")
    assert (chosen.recordings_dir, chosen.recordings_keep_days) == (str(folder), 90) and folder.is_dir()


def test_start_up_stops_with_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "EXOTEL_REGION": "delhi", "EXOTEL_API_TOKEN": "hush-hush-token"}
    result = subprocess.run(
        [sys.executable, "-c", "from webapp import create_app; create_app()"],
        env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: EXOTEL_ACCOUNT_SID")
    assert "hush-hush-token" not in result.stderr


def test_postgresql_urls_use_psycopg3(tmp_path):
    s = settings(tmp_path, DATABASE_URL="postgresql://u:p@db/calls")
    assert s.database_url.startswith("postgresql+psycopg://")


def test_real_credentials_need_public_base_url_and_stand_ins_do_not(tmp_path):
    real = settings(tmp_path, **REAL_CREDENTIALS, PUBLIC_BASE_URL="https://calls.example.com/")
    assert real.public_base_url == "https://calls.example.com"
    # The simulator, or another stand-in at EXOTEL_API_BASE: the request's own loopback host will do.
    assert settings(tmp_path).public_base_url is None
    assert settings(tmp_path, **REAL_CREDENTIALS, EXOTEL_API_BASE="http://127.0.0.1:9000").public_base_url is None


def test_allowed_hosts_and_proxy_hops(tmp_path):
    s = settings(tmp_path, ALLOWED_HOSTS=" Calls.Example.com, 10.0.0.5 ,,", TRUSTED_PROXY_HOPS="1")
    assert s.allowed_hosts == ("calls.example.com", "10.0.0.5")
    assert s.trusted_proxy_hops == 1
    assert settings(tmp_path).allowed_hosts == () and settings(tmp_path).trusted_proxy_hops == 0


def test_start_up_without_public_base_url_stops_with_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", **REAL_CREDENTIALS, "EXOTEL_API_TOKEN": "hush-hush-token"}
    result = subprocess.run(
        [sys.executable, "-c", "from webapp import create_app; create_app()"],
        env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "configuration error: PUBLIC_BASE_URL: required with Exotel credentials: the https origin Exotel posts callbacks to"
    ]


def _flask(tmp_path, **env) -> subprocess.CompletedProcess:
    """`flask --app webapp users --help` in a fresh process (prometheus_client reads its variable at import)."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", "users", "--help"],
        env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "x" * 32, "DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}", **env},
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )


def test_a_missing_metrics_directory_is_created(tmp_path):
    metrics = tmp_path / "run" / "metrics"
    result = _flask(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Usage:" in result.stdout
    assert metrics.is_dir()


def test_a_metrics_directory_that_cannot_be_one_stops_with_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    result = _flask(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "file"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"configuration error: PROMETHEUS_MULTIPROC_DIR: not a directory: '{tmp_path / 'file'}'"]
    result = _flask(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "file" / "metrics"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"configuration error: PROMETHEUS_MULTIPROC_DIR: cannot create '{tmp_path / 'file' / 'metrics'}': Not a directory"
    ]


def test_the_simulator_has_a_default_exophone(tmp_path):
    """Without credentials the form and the API need no caller_id: the simulator's ExoPhone is the default."""
    from webapp.config import SIMULATOR_EXOPHONE, load_settings

    assert load_settings({}, tmp_path).exotel_caller_id == SIMULATOR_EXOPHONE
    assert load_settings({"EXOTEL_CALLER_ID": "08011112222"}, tmp_path).exotel_caller_id == "08011112222"
    real = {"EXOTEL_ACCOUNT_SID": "a", "EXOTEL_API_KEY": "k", "EXOTEL_API_TOKEN": "t", "PUBLIC_BASE_URL": "https://x.example"}
    assert load_settings(real, tmp_path).exotel_caller_id is None


@pytest.mark.parametrize("key, value", [
    ("EXOTEL_READ_TIMEOUT", "soon"), ("EXOTEL_CONNECT_TIMEOUT", 0), ("CHECK_CALL_DELAY", -1),
    ("DISPATCH_SECONDS", True), ("EXOTEL_BUDGET_WAIT", "3"), ("RECONCILE_LOCK_SECONDS", 0.5), ("CLOCK", "noon"),
])
def test_a_bad_tuning_key_stops_the_app_naming_it(tmp_path, key, value):
    from webapp import create_app

    with pytest.raises(ConfigError) as raised:
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}", key: value})
    assert raised.value.variable == key


def test_tuning_keys_and_the_clock_are_read_into_the_settings(tmp_path):
    from datetime import UTC, datetime

    from webapp import create_app
    from webapp.config import get_settings

    noon = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}", "EXOTEL_READ_TIMEOUT": 2,
                      "CHECK_CALL_DELAY": 0.5, "DISPATCH_SECONDS": 1, "CLOCK": lambda: noon})
    tuned = get_settings(app)
    assert (tuned.exotel_read_timeout, tuned.check_call_delay, tuned.dispatch_seconds) == (2.0, 0.5, 1.0)
    assert (tuned.exotel_connect_timeout, tuned.reconcile_lock_seconds) == (5.0, 300.0)  # the defaults
    assert tuned.now() == noon
