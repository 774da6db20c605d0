"""A TCP relay to a database that can stop relaying while every socket stays open (a hung server)."""

from __future__ import annotations

import socket
import threading


class StallingProxy:
    """Relays 127.0.0.1:port to `upstream`; stall() holds every byte in flight, resume() lets them through.

    While stalled, connections are still accepted and kept open, and nothing
    reaches either side: the database's host answers TCP, its server answers
    nothing, as a hung or wedged PostgreSQL does. The kernel acknowledges what
    the app sends, so TCP-level timeouts never fire.
    """

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self._relaying = threading.Event()
        self._relaying.set()
        self._closed = False
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self) -> None:
        self._relaying.clear()

    def resume(self) -> None:
        self._relaying.set()

    def close(self) -> None:
        self._closed = True
        self._relaying.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self._relaying.wait()
                if self._closed:
                    return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
