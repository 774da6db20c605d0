"""The app exactly as create_app() builds it, plus one route that shows the client as the app sees it."""

from __future__ import annotations

from flask import Flask, request

from webapp import create_app as create_webapp


def create_app() -> Flask:
    app = create_webapp()
    app.add_url_rule("/client", "client", lambda: {"address": request.remote_addr, "scheme": request.scheme,
                                                  "host": request.host})
    return app
