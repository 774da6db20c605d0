"""The README's several-hosts recipe, deployed for real: nginx, two web hosts, two worker hosts, the database
host (PostgreSQL and Redis as the queue) and Exotel (the standalone simulator), each in a network namespace.

Each host runs what README "Several hosts" tells an operator to run there: the commands below are checked
against the README word for word (only the example addresses 10.0.0.N become this network's), the
environment against its table of variables per role, and nginx and the firewall are deploy/'s files with
only their machine-specific lines changed. Exotel is played by `python -m webapp.simulator` with credentials
of its own, so the app runs as in production (credentials, PUBLIC_BASE_URL), at 20 times Exotel's pace.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import requests

from tests.support.netns import Host, Network, require_root_and_tools
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.netns, pytest.mark.processes, pytest.mark.xdist_group("netns")]

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
EXAMPLE = "10.0.0."  # the README's example network; this test's hosts have the same last numbers
SUBNET = "10.213.0"
NUMBERS = {"nginx": 10, "web1": 11, "web2": 12, "worker1": 21, "worker2": 22, "exotel": 30, "data": 40, "client": 50}
# As the README gives them, for the host at 10.0.0.N.
MIGRATE = ".venv/bin/flask --app webapp db upgrade"
FIRST_ADMIN = ".venv/bin/flask --app webapp users create admin@example.com --role admin"
API_TOKEN = ".venv/bin/flask --app webapp tokens create crm"
FIREWALL = "nft -f deploy/web-host.nft"
WEB = ".venv/bin/gunicorn -c gunicorn.conf.py --bind 10.0.0.11:8000 'webapp:create_app()'"
WORKER = ".venv/bin/flask --app webapp worker --threads 4"
BUDGET = 20  # EXOTEL_REQUESTS_PER_MINUTE: small, so that a burst meets it
ANSWERED = "09876543210"  # the simulator answers it: a conversation, then completed


def _readme_command(line: str, host: Host) -> list[str]:
    assert line in README, f"README no longer says {line!r}: keep this test and the README in step"
    return shlex.split(line.replace(EXAMPLE + "11", host.address))


def _readme_roles() -> dict[str, set[str]]:
    """README's table of variables per role: {"web": {...}, "worker": {...}}."""
    roles: dict[str, set[str]] = {"web": set(), "worker": set()}
    for names, web, worker in re.findall(r"^\| (`[A-Z_]+`[^|]*) \| (yes|no) \| (yes|no) \|", README, re.M):
        for role, mark in (("web", web), ("worker", worker)):
            if mark == "yes":
                roles[role].update(re.findall(r"`([A-Z_]+)`", names))
    return roles


def _environments(data: str, exotel: str, proxy: str, token: str, secret_key: str) -> dict[str, dict[str, str]]:
    every = {
        "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/root",
        "DATABASE_URL": f"postgresql+psycopg://calls@{data}:5432/calls",
        "QUEUE_URL": f"redis://{data}:6379/0",
        "SECRET_KEY": secret_key,
        "PUBLIC_BASE_URL": f"http://{proxy}",
        "EXOTEL_ACCOUNT_SID": "deployment", "EXOTEL_API_KEY": "deployment-key", "EXOTEL_API_TOKEN": token,
        "EXOTEL_API_BASE": f"http://{exotel}:9000",  # Exotel's region origin in production
        "EXOTEL_CALLER_ID": "08047112345",
        "EXOTEL_REQUESTS_PER_MINUTE": str(BUDGET),
    }
    web = {**every, "TRUSTED_PROXY_HOPS": "1", "WEB_CONCURRENCY": "2"}
    worker = {**every, "RECONCILE_EVERY_MINUTES": "1", "RECONCILE_OLDER_THAN_MINUTES": "0.25"}
    documented = _readme_roles()
    for role, env in (("web", web), ("worker", worker)):
        named = {name for name in env if name not in ("PATH", "LANG", "HOME")}
        assert named <= documented[role], f"README's table does not list {named - documented[role]} for {role} hosts"
    return {"web": web, "worker": worker}


def _render(path: Path, directory: Path, replacements: dict[str, str]) -> Path:
    text = (ROOT / path).read_text()
    for pattern, replacement in replacements.items():
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        assert count >= 1, f"{path} no longer has {pattern!r}"
    rendered = directory / path.name
    rendered.write_text(text)
    return rendered


def _start_data_host(data: Host, directory: Path, cluster: Path) -> None:
    """PostgreSQL (a cluster of its own in `cluster`, user postgres) and Redis, listening on the data host's address."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))[-1].parent
    shutil.chown(cluster, "postgres", "postgres")
    as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
    subprocess.run([*as_postgres, str(binaries / "initdb"), "-D", str(cluster / "data"), "-U", "postgres", "--no-sync",
                    "-A", "trust", "--auth-host=trust"], check=True, capture_output=True, timeout=120)
    (cluster / "data" / "pg_hba.conf").write_text(f"local all all trust\nhost all all {SUBNET}.0/24 trust\n")
    data.start([*as_postgres, str(binaries / "postgres"), "-D", str(cluster / "data"), "-c", f"listen_addresses={data.address}",
                "-c", f"unix_socket_directories={cluster}", "-c", "fsync=off", "-c", "max_connections=200"],
               {"PATH": "/usr/bin:/bin"}, directory / "postgres.log", cwd=cluster)
    psql = [*as_postgres, str(binaries / "psql"), "-h", str(cluster), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
    wait_for(lambda: subprocess.run([*psql, "-c", "select 1"], capture_output=True).returncode == 0, timeout=60,
             interval=0.3, what="PostgreSQL answering")
    subprocess.run([*psql, "-c", "create role calls login", "-c", "create database calls owner calls"],
                   check=True, capture_output=True, timeout=60)
    data.start(["redis-server", "--bind", data.address, "--port", "6379", "--save", "", "--appendonly", "no",
                "--protected-mode", "no"], {"PATH": "/usr/bin:/bin"}, directory / "redis.log", cwd=cluster)
    data.psql = [*psql, "-d", "calls", "-At"]  # type: ignore[attr-defined]  # the test's read-only look at the database


def _wait_http(host: Host, url: str, process: subprocess.Popen, log: Path, ready=(200,)) -> None:
    def answers() -> bool:
        assert process.poll() is None, f"{url}: the process ended: {log.read_text()[-3000:]}"
        try:
            return host.run(requests.get, url, timeout=2).status_code in ready
        except requests.RequestException:
            return False

    wait_for(answers, timeout=60, interval=0.3, what=f"{url} answering")


class Deployment:
    def __init__(self, network: Network, directory: Path):
        self.net, self.dir = network, directory
        self.hosts = {name: network.add(name, number) for name, number in NUMBERS.items()}
        self.processes: dict[str, subprocess.Popen] = {}
        self.started = time.time()

    def __getattr__(self, name: str) -> Host:
        return self.__dict__["hosts"][name]

    def sql(self, query: str) -> list[str]:
        result = subprocess.run([*self.data.psql, "-c", query], check=True, capture_output=True, text=True, timeout=30)
        return result.stdout.splitlines()

    def flask(self, host: Host, line: str, env: dict[str, str], stdin: str = "") -> str:
        result = subprocess.run(host.command(*_readme_command(line, host)), cwd=ROOT, env=env, input=stdin,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def start(self, name: str, line: str, env: dict[str, str]) -> subprocess.Popen:
        host = self.hosts[name]
        process = host.start(_readme_command(line, host), env, self.dir / f"{name}.log", ROOT)
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.dir / f"{name}.log").read_text(errors="replace")

    def api(self, method: str, path: str, *, via: str = "client", to: str | None = None, **kwargs) -> requests.Response:
        """A request from host `via`, to nginx (or straight to web host `to`, port 8000)."""
        base = f"http://{self.hosts[to].address}:8000" if to else f"http://{self.nginx.address}"
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.hosts[via].run(requests.request, method, base + path, headers=headers, timeout=60, **kwargs)

    def simulator(self, path: str, **kwargs) -> requests.Response:
        return self.client.run(requests.request, kwargs.pop("method", "GET"), f"http://{self.exotel.address}:9000{path}",
                               timeout=10, **kwargs)

    def place(self, number: str = ANSWERED, **kwargs) -> requests.Response:
        return self.api("POST", "/api/calls", json={"from": number, "app_id": "1"}, **kwargs)


@contextmanager
def _removed(path: Path) -> Iterator[None]:
    try:
        yield
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    require_root_and_tools("nft", "redis-server", "setpriv", "nginx")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        require_root_and_tools("postgres")
    directory = tmp_path_factory.mktemp("several-hosts")
    cluster = Path(tempfile.mkdtemp(prefix="exo-pg-", dir="/tmp"))  # postgres must reach it: not under pytest's 0700 dir
    with _removed(cluster), Network(SUBNET) as network:  # the processes stop before their files go
        hosts = Deployment(network, directory)
        _start_data_host(hosts.data, directory, cluster)
        token = secrets.token_urlsafe(24)
        sim = hosts.exotel.start([sys.executable, "-m", "webapp.simulator", "--host", hosts.exotel.address, "--port", "9000",
                                  "--account-sid", "deployment", "--api-key", "deployment-key", "--speed", "0.05"],
                                 {"PATH": "/usr/bin:/bin", "SIMULATOR_API_TOKEN": token}, directory / "exotel.log", ROOT)
        _wait_http(hosts.client, f"http://{hosts.exotel.address}:9000/_sim/config", sim, directory / "exotel.log")
        env = hosts.env = _environments(hosts.data.address, hosts.exotel.address, hosts.nginx.address, token,
                                        secrets.token_urlsafe(32))
        # Once, from one host: the schema, the first admin, an API token.
        hosts.flask(hosts.web1, MIGRATE, env["web"])
        hosts.flask(hosts.web1, FIRST_ADMIN, env["web"], stdin="a long enough password\n" * 2)
        hosts.token = hosts.flask(hosts.web1, API_TOKEN, env["web"]).splitlines()[-1]
        for name in ("web1", "web2"):
            host = hosts.hosts[name]
            rules = _render(Path("deploy/web-host.nft"), directory, {r"^define proxy = .*$": f"define proxy = {hosts.nginx.address}"})
            subprocess.run(host.command(*shlex.split(FIREWALL.replace("deploy/web-host.nft", str(rules)))),
                           check=True, capture_output=True, timeout=30)
            assert FIREWALL in README
            process = hosts.start(name, WEB, {**env["web"], "PROMETHEUS_MULTIPROC_DIR": str(directory / name / "metrics")})
            _wait_http(hosts.nginx, f"http://{host.address}:8000/healthz", process, directory / f"{name}.log")
        for name in ("worker1", "worker2"):
            hosts.start(name, WORKER, env["worker"])
        hosts.started = time.time()
        nginx_dir = directory / "nginx"
        nginx_dir.mkdir()
        temp = "".join(f"    {kind}_temp_path {nginx_dir}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        config = _render(Path("deploy/nginx-several-hosts.conf"), nginx_dir, {
            r"^user www-data;": "user root;", r"^pid /run/nginx.pid;": f"pid {nginx_dir}/nginx.pid;",
            r"/var/log/nginx/": f"{nginx_dir}/", r"^http \{": "http {\n" + temp,
            r"server 10\.0\.0\.(\d+):8000": rf"server {SUBNET}.\1:8000",
        })
        nginx = hosts.nginx.start(["nginx", "-p", str(nginx_dir), "-e", str(nginx_dir / "error.log"), "-c", str(config),
                                   "-g", "daemon off;"], {"PATH": "/usr/sbin:/usr/bin:/bin"}, directory / "nginx.log", ROOT)
        _wait_http(hosts.client, f"http://{hosts.nginx.address}/healthz", nginx, directory / "nginx.log")
        yield hosts


def _events(hosts: Deployment, call_id: str, to: str) -> tuple[dict, list[str]]:
    answer = hosts.api("GET", f"/api/calls/{call_id}", via="nginx", to=to)
    assert answer.status_code == 200, answer.text
    call = answer.json()
    return call, [event["event_type"] for event in call["events"]]


def test_calls_placed_on_one_host_are_recorded_once_and_seen_on_the_other(deployment):
    hosts = deployment
    placed = [hosts.place(via="nginx", to="web1", headers={"Idempotency-Key": f"first-{n}"}) for n in range(4)]
    assert [answer.status_code for answer in placed] == [201] * 4, [answer.text for answer in placed]
    ids = [answer.json()["id"] for answer in placed]

    def all_completed() -> bool:
        seen = [_events(hosts, call_id, "web2") for call_id in ids]
        return all(call["status"] == "completed" and {"answered", "terminal"} <= set(kinds) for call, kinds in seen)

    wait_for(all_completed, timeout=60, interval=0.5, what="the calls completed, seen from web2")
    for call_id in ids:
        _, kinds = _events(hosts, call_id, "web2")
        assert sorted(kinds) == ["answered", "terminal"], kinds  # each callback once, through nginx
    # Every callback came in through the proxy, and both web hosts took some.
    access = (hosts.dir / "nginx" / "access.log").read_text()
    served = re.findall(r'"POST /webhooks/exotel/[^ ]+/-" 2\d\d .* (\S+):8000 ', access)
    # (8, unless a callback answered after nginx's 10 s came again: then the app said "duplicate".)
    assert len(served) >= 8 and {hosts.web1.address, hosts.web2.address} <= set(served), access[-2000:]
    # A retry with the same key, through the proxy (whichever host), gives the first call back.
    again = hosts.place(headers={"Idempotency-Key": "first-0"})
    assert again.status_code == 200 and again.json()["id"] == ids[0]


def test_only_the_proxy_reaches_gunicorn_and_a_forged_address_is_ignored(deployment):
    hosts = deployment
    for name in ("web1", "web2"):
        with pytest.raises(requests.ConnectionError):
            hosts.client.run(requests.get, f"http://{hosts.hosts[name].address}:8000/healthz", timeout=5)
    answer = hosts.place(headers={"X-Forwarded-For": "203.0.113.66", "Idempotency-Key": "forged"})
    assert answer.status_code == 201, answer.text
    rows = hosts.sql(f"select ip from audit_log where action = 'call.place' and target = '{answer.json()['id']}'")
    assert rows and set(rows) == {hosts.client.address}, rows


def _place_as_a_client_should(hosts: Deployment, key: str) -> requests.Response:
    """POST /api/calls as README "A 502 or 504 from the proxy" tells an API client: on a 502 or 504 from the
    proxy, or no answer, the same request again with the same Idempotency-Key."""
    for _ in range(5):
        try:
            answer = requests.post(f"http://{hosts.nginx.address}/api/calls", json={"from": ANSWERED, "app_id": "1"},
                                   headers={"Authorization": f"Bearer {hosts.token}", "Idempotency-Key": key}, timeout=60)
        except requests.ConnectionError:
            continue
        if answer.status_code not in (502, 504):
            return answer
        assert answer.json()["error"]["code"].startswith("proxy_"), answer.text  # nginx's own, in the app's shape
    raise AssertionError(f"{key}: no answer after 5 tries")


def test_a_killed_worker_and_a_cut_web_host_lose_nothing(deployment):
    hosts = deployment
    # Half the callbacks never come: reconciliation, on the surviving worker, must settle those calls.
    hosts.simulator("/_sim/config", method="POST", json={"drop_callbacks": 0.5, "seed": 7})
    hosts.processes["worker1"].send_signal(signal.SIGKILL)
    hosts.web2.link(up=False)
    try:
        # Placed at once: those nginx sends to web2 on a kept-alive connection wait out its read timeout (45 s).
        placing = [hosts.client.pool().submit(_place_as_a_client_should, hosts, f"cut-{n}") for n in range(6)]
        time.sleep(3)
        # While the link is down, web2 is unreachable; web1 and the proxy still answer, truthfully.
        with pytest.raises(requests.ConnectionError):
            hosts.nginx.run(requests.get, f"http://{hosts.web2.address}:8000/healthz", timeout=3)
        health = hosts.nginx.run(requests.get, f"http://{hosts.web1.address}:8000/healthz", timeout=5).json()
        assert health["status"] == "ok" and health["database"] == "ok" and health["worker"]["seen"] is True, health
        time.sleep(12)
    finally:
        hosts.web2.link(up=True)
    # The operator's restart of the killed worker (systemd's Restart=always): the same command.
    hosts.start("worker1", WORKER, hosts.env["worker"])
    answers = [future.result() for future in placing]
    # 201, or 200 where a first try had reached web2 after all and the retry got that call back.
    assert {answer.status_code for answer in answers} <= {200, 201}, [answer.text for answer in answers]
    hosts.simulator("/_sim/config", method="POST", json={"drop_callbacks": 0.0})
    ids = [answer.json()["id"] for answer in answers]
    assert len(set(ids)) == 6

    def settled() -> bool:
        return all(_events(hosts, call_id, "web2")[0]["status"] == "completed" for call_id in ids)

    wait_for(settled, timeout=150, interval=2, what="every call settled after the worker and the link came back")
    for call_id in ids:
        _, kinds = _events(hosts, call_id, "web1")
        assert kinds.count("answered") <= 1 and kinds.count("terminal") <= 1 and kinds.count("reconcile") <= 1, kinds
    assert int(hosts.sql("select count(*) from calls")[0]) == 4 + 1 + 6  # no call placed twice
    health = hosts.nginx.run(requests.get, f"http://{hosts.web2.address}:8000/healthz", timeout=5).json()
    assert health["status"] == "ok" and health["worker"]["seen"] is True, health


def test_the_budget_holds_across_hosts(deployment):
    hosts = deployment
    pool = hosts.client.pool()
    burst = [pool.submit(requests.post, f"http://{hosts.nginx.address}/api/calls", json={"from": ANSWERED, "app_id": "1"},
                         headers={"Authorization": f"Bearer {hosts.token}"}, timeout=60) for _ in range(2 * BUDGET)]
    statuses = [future.result().status_code for future in burst]
    assert set(statuses) <= {201, 429} and 429 in statuses, statuses
    arrivals = sorted(entry["at"] for entry in hosts.simulator("/_sim/connects").json()["connects"])
    busiest = max(sum(1 for other in arrivals if start <= other < start + 60) for start in arrivals)
    assert busiest <= BUDGET, f"{busiest} requests reached Exotel within 60 s"


def _finished_minutes(log: str) -> list[str]:
    minutes = []
    for line in log.splitlines():
        if '"reconcile finished"' in line:
            minutes.append(json.loads(line)["time"][:16])
    return minutes


def test_one_reconciliation_per_interval_across_workers(deployment):
    hosts = deployment
    # Two intervals and more: each worker's scheduler looks at its periodic tasks once a minute from its start,
    # both enqueue a reconciliation, and one of them may run it (two runs in a minute are one too many).
    time.sleep(max(0.0, hosts.started + 125 - time.time()))
    minutes = _finished_minutes(hosts.log("worker1")) + _finished_minutes(hosts.log("worker2"))
    counted = {minute: minutes.count(minute) for minute in minutes}
    assert counted and max(counted.values()) == 1, counted
    assert len(counted) >= 2, counted


def test_healthz_through_the_proxy_lists_the_workers(deployment):
    hosts = deployment
    health = hosts.api("GET", "/healthz", headers={}).json()
    assert health["status"] == "ok" and health["worker"]["seen"] is True, health
    alive = {worker["pid"]: worker["alive"] for worker in health["workers"]}
    assert alive.get(hosts.processes["worker2"].pid) is True and alive.get(hosts.processes["worker1"].pid) is True, health
    assert datetime.fromisoformat(health["worker"]["last_seen"])
