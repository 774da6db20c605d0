"""`flask --app webapp exotel check` and its admin page, against the simulator over real HTTP."""

from __future__ import annotations

import re

import pytest

from tests.support.apps import make_app
from tests.support.credentials import ACCOUNT_SID, API_KEY, API_TOKEN, SECRET_KEY
from tests.support.signin import csrf_token, sign_in
from tests.support.simulator import wait_for
from webapp import create_app
from webapp.accounts import create_user
from webapp.db import get_db
from webapp.simulator import SimulatorServer

PUBLIC = "https://calls.example.com"


@pytest.fixture
def apps(database_url):
    made = []

    def make(simulator_url: str | None = None, **overrides):
        if simulator_url is None:  # no EXOTEL_API_BASE: the regions' origins, from EXOTEL_REGION_ORIGINS
            config = {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY,
                      "EXOTEL_ACCOUNT_SID": ACCOUNT_SID, "EXOTEL_API_KEY": API_KEY, "EXOTEL_API_TOKEN": API_TOKEN,
                      "EXOTEL_CALLER_ID": "08047112345", **overrides}
            app = create_app(config)
        else:
            app = make_app(database_url, simulator_url, **{"PUBLIC_BASE_URL": PUBLIC, **overrides})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["database"].engine.dispose()


def check(app) -> tuple[int, dict[str, tuple[str, str]], str]:
    """Run the command: its exit code, {check: (verdict, message)} and the whole output."""
    result = app.test_cli_runner().invoke(args=["exotel", "check"])
    lines = {}
    for line in result.output.splitlines():
        match = re.fullmatch(r"(ok|warn|fail)\s+(\w+): (.+)", line)
        assert match, line  # one line per check, nothing else
        lines[match.group(2)] = (match.group(1), match.group(3))
    return result.exit_code, lines, result.output


def test_good_credentials_pass_every_check(apps, sim):
    code, lines, output = check(apps(sim.base_url))
    assert code == 0, output
    assert list(lines) == ["credentials", "exophone", "balance", "public_base_url"]
    assert {verdict for verdict, _ in lines.values()} == {"ok"}
    assert "08047112345 is an ExoPhone of account testaccount" in lines["exophone"][1]
    assert "5000.00" in lines["balance"][1]
    assert API_TOKEN not in output


def test_a_wrong_token_fails_the_credentials_check_and_is_never_printed(apps, sim):
    wrong = "wrong-token-9f8e7d6c5b4a"
    code, lines, output = check(apps(sim.base_url, EXOTEL_API_TOKEN=wrong))
    assert code == 1
    assert lines["credentials"][0] == "fail" and "refuses the API key and token" in lines["credentials"][1]
    assert "EXOTEL_API_TOKEN" in lines["credentials"][1]
    assert wrong not in output and API_TOKEN not in output


def test_an_account_of_the_other_region_is_told_so(apps, sim):
    # Singapore does not know this account (another account's simulator answers there); Mumbai does.
    with SimulatorServer("elsewhere", "other-key", "other-token") as singapore:
        app = apps(EXOTEL_REGION="singapore", PUBLIC_BASE_URL=PUBLIC,
                   EXOTEL_REGION_ORIGINS={"singapore": singapore.base_url, "mumbai": sim.base_url})
        code, lines, output = check(app)
    assert code == 1
    verdict, message = lines["credentials"]
    assert verdict == "fail" and "set EXOTEL_REGION=mumbai" in message and "127.0.0.1" in message
    assert API_TOKEN not in output


def test_a_foreign_exophone_fails(apps, sim):
    code, lines, _output = check(apps(sim.base_url, EXOTEL_CALLER_ID="08011112222"))
    assert code == 1
    verdict, message = lines["exophone"]
    assert verdict == "fail" and "08011112222 is not an ExoPhone of account testaccount" in message
    assert "+918047112345" in message  # the account's own, to choose from
    assert lines["credentials"][0] == "ok"


def test_the_balance_warns_when_low_with_its_runway_and_fails_at_zero(apps, sim):
    app = apps(sim.base_url)
    sim.state.place_call(from_number="09876543250", caller_id="08047112345", flow_url="x")  # answered: 0.60 today
    wait_for(lambda: sim.state.finished_calls(), timeout=10)
    sim.state.balance = "1.50"
    code, lines, _output = check(app)
    assert code == 0 and lines["balance"] == ("warn", "the balance is 1.50 (low): about 2.5 days at today's spend of 0.60")
    sim.state.balance = "0.00"
    code, lines, _output = check(app)
    assert code == 1 and lines["balance"][0] == "fail" and "402" in lines["balance"][1]
    sim.state.balance = None  # an account whose balance Exotel does not serve
    code, lines, _output = check(app)
    assert code == 0 and lines["balance"][0] == "warn"


@pytest.mark.parametrize("public, verdict", [
    ("http://calls.example.com", "fail"), ("https://127.0.0.1:8443", "fail"), ("https://localhost", "fail"),
])
def test_public_base_url_must_be_https_and_not_loopback(apps, sim, public, verdict):
    code, lines, _output = check(apps(sim.base_url, PUBLIC_BASE_URL=public))
    assert code == 1 and lines["public_base_url"][0] == verdict


def test_the_check_spends_a_few_requests_of_the_shared_budget(apps, sim):
    sim.state.reset()
    sim.state.configure(rate_limit_per_minute=1000)
    code, _lines, _output = check(apps(sim.base_url))
    _allowed, headers = sim.state.check_rate_limit()
    assert code == 0 and 1000 - int(headers["X-RateLimit-Remaining"]) - 1 == 3


def test_admins_run_the_same_checks_on_a_page(apps, sim):
    app = apps(sim.base_url, EXOTEL_CALLER_ID="08011112222")
    with app.app_context():
        create_user(get_db(), "ops@example.com", "correct horse battery", is_admin=True)
    client = app.test_client()
    assert sign_in(client).status_code == 302
    page = client.get("/admin/exotel").get_data(as_text=True)
    response = client.post("/admin/exotel", data={"csrf_token": csrf_token(page)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Not ready: a check failed" in html
    assert re.search(r'data-check="exophone" data-verdict="fail"', html)
    assert re.search(r'data-check="credentials" data-verdict="ok"', html)
    assert API_TOKEN not in html and API_KEY not in html


def test_without_credentials_it_checks_the_embedded_simulator(tmp_path, monkeypatch):
    for name in ("EXOTEL_ACCOUNT_SID", "EXOTEL_API_KEY", "EXOTEL_API_TOKEN", "EXOTEL_API_BASE", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"TESTING": True, "SECRET_KEY": SECRET_KEY, "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"})
    try:
        code, lines, _output = check(app)
        server = app.extensions["simulator"]
        assert code == 0
        assert lines["credentials"][0] == "ok" and server.base_url.split("//")[1] in lines["credentials"][1]
        assert lines["public_base_url"][0] == "warn" and "simulator" in lines["public_base_url"][1]
    finally:
        if "simulator" in app.extensions:
            app.extensions["simulator"].stop()
        app.extensions["database"].engine.dispose()


def test_a_spent_budget_sends_nothing_more_and_fails_nothing(apps, sim, tmp_path):
    # A queue of its own: the budget lives there, and no other test's requests may have spent it.
    app = apps(sim.base_url, EXOTEL_REQUESTS_PER_MINUTE=1, EXOTEL_BUDGET_WAIT=0.0, QUEUE_URL=f"sqlite:///{tmp_path / 'queue.db'}")
    sim.state.reset()
    sim.state.configure(rate_limit_per_minute=1000)
    code, lines, output = check(app)  # the one request of the minute proves the credentials; the rest waits
    assert code == 0, output
    assert lines["credentials"][0] == "ok" and lines["exophone"][0] == "warn" and lines["balance"][0] == "warn"
    code, lines, output = check(app)
    assert code == 0 and lines["credentials"][0] == "warn" and "not sent" in lines["credentials"][1], output
    _allowed, headers = sim.state.check_rate_limit()
    assert 1000 - int(headers["X-RateLimit-Remaining"]) - 1 == 1  # Exotel saw one request in all
