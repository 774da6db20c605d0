"""deploy/prometheus/alerts.yml: valid, unit-tested with promtool for every rule, over metrics /metrics really serves."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.apps import make_app
from tests.support.credentials import SECRET_KEY
from tests.support.processes import gunicorn, stop
from tests.support.workers import Worker
from webapp.accounts import create_token
from webapp.db import get_db

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "deploy" / "prometheus"
RULES = RULES_DIR / "alerts.yml"
RULE_TESTS = (RULES_DIR / "alerts_test.yml", RULES_DIR / "answer_rate_test.yml")
# The product's alert rules (CONTRACT.md, "Alerts"): the Prometheus rules carry the same names.
PRODUCT_RULES = {
    "callbacks_missing", "exotel_refusing", "budget_saturated", "answer_rate_drop", "worker_down",
    "reconcile_stale", "calls_unsettled", "campaign_paused_by_system", "webhook_failing",
}
# Every word of PromQL the rules use that is not a metric: a new function must be added here, or the
# scrape test reads it as a metric that /metrics lacks.
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "rate", "increase", "avg_over_time", "max_over_time", "min_over_time",
    "timestamp", "time", "vector", "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
}


def promtool() -> str:
    """Debian's promtool (`make promtool`); a skip without it, a failure under CI=true."""
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but promtool is not installed: run scripts/ensure-promtool (make promtool)")
    pytest.skip("promtool not installed (scripts/ensure-promtool)")


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: its words, less label matchers, ranges, strings and PromQL's own."""
    bare = re.sub(r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]', " ", expr)
    words = set(re.findall(r"(?<![\w.])[A-Za-z_:][\w:]*", bare))
    return words - PROMQL_WORDS


def test_promtool_checks_the_rules():
    result = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(PRODUCT_RULES)} rules found" in result.stdout


def test_promtool_unit_tests_pass_for_every_rule():
    result = subprocess.run([promtool(), "test", "rules", *map(str, RULE_TESTS)], capture_output=True, text=True,
                            timeout=300, cwd=RULES_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS), result.stdout


def test_one_rule_per_product_rule_each_tested_firing_and_quiet():
    found = rules()
    assert sorted(rule["alert"] for rule in found) == sorted(PRODUCT_RULES)
    for rule in found:
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
    fires: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fires if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fires == PRODUCT_RULES, f"no firing case for {PRODUCT_RULES - fires}"
    assert quiet == PRODUCT_RULES, f"no quiet case for {PRODUCT_RULES - quiet}"


def test_metric_names_reads_promql():
    names = metric_names('sum(increase(a_total{status=~"4.."}[5m] offset 1d)) > bool 0 and time() - max(b) > 3 * c')
    assert names == {"a_total", "b", "c"}


def _samples(text: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample.value)
    return found


@pytest.mark.processes
@pytest.mark.sqlite_only
def test_every_metric_the_rules_read_is_on_metrics(database_url, tmp_path):
    """The README's production set-up: gunicorn and a worker sharing PROMETHEUS_MULTIPROC_DIR; after a call,
    its callback and a worker heartbeat, one scrape serves every metric alerts.yml names."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "SIMULATOR_SPEED": "0.02"}
    app = make_app(database_url, "http://127.0.0.1:9")
    with app.app_context():
        token = create_token(get_db(), "prometheus")
    app.extensions["database"].engine.dispose()
    process, url = gunicorn(database_url, tmp_path / "gunicorn.log", workers=1, extra_env=env)
    worker = None
    try:
        # In simulator mode the embedded simulator calls back this server's own origin.
        response = requests.post(f"{url}/api/calls", json={"from": "+919876543210", "app_id": "1", "caller_id": "08047112345"},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert response.status_code == 201, response.text
        call_id = response.json()["id"]
        worker_env = {key: value for key, value in os.environ.items() if not key.startswith(("EXOTEL_", "PROMETHEUS_"))}
        worker_env.update(DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY, LOG_LEVEL="INFO", **env)
        worker = Worker(worker_env, tmp_path / "worker.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            call = requests.get(f"{url}/api/calls/{call_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
            scraped = _samples(requests.get(f"{url}/metrics", timeout=10).text)
            if call["events"] and math.isfinite(scraped["worker_heartbeat_age_seconds"][0]):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"no callback or no heartbeat: {call}; worker log: {''.join(worker.lines()[-20:])}")
    finally:
        if worker is not None:
            worker.stop()
        stop(process)
    used = set().union(*(metric_names(rule["expr"]) for rule in rules()))
    assert {"calls_without_callback", "exotel_account_refusals_total", "worker_heartbeat_age_seconds"} <= used
    missing = sorted(name for name in used if name not in scraped)
    assert not missing, f"alerts.yml reads metrics /metrics does not serve: {missing}"
    assert scraped["calls_placed_last_hour"] == [1.0]
    assert scraped["database_figures_up"] == [1.0]
    # The call's request counted where the client got Exotel's answer; its callback, in the same multiprocess sums.
    assert sum(scraped["exotel_api_responses_total"]) >= 1
    assert sum(scraped["exotel_callbacks_total"]) >= 1
