"""Hardening helpers: Hypothesis settings, a TCP proxy that plays a database outage, rows, scans."""

from __future__ import annotations

import os
import socket
import threading
import uuid

from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from webapp.db import get_db, utcnow
from webapp.models import Call

_QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
# Examples per generated-input test: with both databases, a few thousand per run.
# CI (CI=true) derandomizes, so a red build reproduces; elsewhere each run explores anew.
EXAMPLES = int(os.environ.get("HARDENING_EXAMPLES", "300"))
GENERATED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("CI", "").lower() == "true",
    suppress_health_check=_QUIET,
    database=None,
)


class TcpProxy:
    """A loopback TCP forwarder to a database that the test can stop (an outage) and start again.

    stop() closes the listening socket and every forwarded connection, as a
    server restart does; `blackhole=True` accepts connections but never answers,
    as an unreachable host behind a firewall does.
    """

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = 0
        self.blackhole = False
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.start()

    def start(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket()
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._sockets.add(client)
            if self.blackhole:
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.add(server)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Outage:
    """Takes the app's database away and gives it back, for either database."""

    def __init__(self, database_url: str, tmp_path):
        self.kind = make_url(database_url).get_backend_name()
        self.real_url = database_url
        self.proxy: TcpProxy | None = None
        self._holder = None
        if self.kind == "postgresql":
            url = make_url(database_url)
            self.proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
            self.app_url = url.set(host="127.0.0.1", port=self.proxy.port).render_as_string(hide_password=False)
        else:
            self.app_url = database_url

    def down(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
            return
        # SQLite: another process's exclusive lock; the app's writers and readers wait, then give up.
        import sqlite3

        self._holder = sqlite3.connect(make_url(self.real_url).database, isolation_level=None, check_same_thread=False)
        self._holder.execute("BEGIN EXCLUSIVE")

    def up(self) -> None:
        if self.proxy is not None:
            self.proxy.start()
            return
        if self._holder is not None:
            self._holder.execute("ROLLBACK")
            self._holder.close()
            self._holder = None

    def close(self) -> None:
        self.up()
        if self.proxy is not None:
            self.proxy.stop()


def new_call(app, *, sid: str | None = "auto", status: str = "in-progress") -> Call:
    """A call row as placing leaves it: Exotel accepted it (a Sid), or not yet (sid=None, pending)."""
    with app.app_context():
        with get_db().transaction() as session:
            call = Call(
                from_number="+919876543210", caller_id="08047112345", flow_url="http://my.exotel.com/a/exoml/start_voice/1",
                status=status, sid=uuid.uuid4().hex if sid == "auto" else sid, created_at=utcnow(),
            )
            session.add(call)
    return call


def dump_tables(database_url: str) -> str:
    """Every row of every table of the database, as text (for the secrets scan)."""
    engine = create_engine(database_url)
    parts = []
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            names = connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars().all()
        else:
            names = connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).scalars().all()
        for name in names:
            for row in connection.execute(text(f'SELECT * FROM "{name}"')):
                parts.append(f"{name}: {tuple(row)!r}")
    engine.dispose()
    return "\n".join(parts)

