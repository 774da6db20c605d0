"""The tests' live server closes what it was sending when a browser hangs up mid-answer.

werkzeug's development handler skips closing the response when draining the request after it fails (the client
reset the connection): the static file being sent stays open until the collector finds it, and its
ResourceWarning then fails whichever test is running (seen in a browser test, on the favicon).
"""

from __future__ import annotations

import gc
import socket
import struct
import time

from tests.support.apps import LiveServer, make_app


def test_a_client_that_resets_mid_answer_leaves_no_file_open(sqlite_template, tmp_path):
    path = tmp_path / "calls.db"
    path.write_bytes(sqlite_template.read_bytes())
    app = make_app(f"sqlite:///{path}", "http://127.0.0.1:9")
    live = LiveServer().serve(app)
    port = int(live.url.rsplit(":", 1)[1])
    try:
        for _ in range(300):
            client = socket.create_connection(("127.0.0.1", port))
            # A request with bytes after it that the server drains, then a reset (linger 0) instead of a close.
            client.sendall(b"GET /static/app.css HTTP/1.1\r\nHost: localhost\r\n\r\nunread")
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
        time.sleep(0.5)
    finally:
        live.stop()
        app.extensions["database"].engine.dispose()
    gc.collect()  # an unclosed file's ResourceWarning is an error here (filterwarnings), failing this test
