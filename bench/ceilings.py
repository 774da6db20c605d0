"""The webhook benchmark's ceilings: bare Flask endpoints on the callback's route that only read the body."""

from __future__ import annotations

import json

# The ceilings: a bare Flask endpoint on the callback's route that reads the body
# and does nothing else, served exactly as the app is.
# - "form": Flask's request.form (json.loads for JSON), as the issue defines the
#   ceiling. The targets are judged against it.
# - "reader": the app's own body reader (webapp.views.webhooks.read_fields), whose
#   multipart parser is much cheaper than werkzeug's. Against it the ratio counts
#   only what the callback does beyond receiving its body: the stricter figure.
CEILINGS = {"form": "bare Flask, request.form", "reader": "bare Flask, the app's body reader"}


def bare_app(reader: str = "form"):
    """A ceiling endpoint (see CEILINGS)."""
    from flask import Flask, request

    from webapp.web.machines.webhooks import MAX_BODY, MAX_PARTS, read_fields

    app = Flask("bare")

    @app.route("/webhooks/exotel/<call_id>/<token>", methods=["POST", "GET"])
    def read_only(call_id, token):
        request.max_content_length = MAX_BODY
        request.max_form_parts = MAX_PARTS
        if reader == "reader":
            return {"result": "read", "fields": len(read_fields(request) or ())}
        if request.mimetype == "application/json":
            return {"result": "read", "fields": len(json.loads(request.get_data()))}
        return {"result": "read", "fields": len(request.form)}

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
