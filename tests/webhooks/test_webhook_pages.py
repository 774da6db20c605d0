"""The admins' webhook pages: register (the secret shown once), deliveries with responses shown as text,
rotate, replay, disable, delete; other roles are refused."""

from __future__ import annotations

import re

from tests.support.signin import page_token, sign_in
from tests.support.webhooks import pump
from webapp.accounts import create_user
from webapp.config.tuning import with_settings
from webapp.db import get_db, utcnow
from webapp.webhooks import record_event

SECRET = re.compile(r'value="(whsec_[^"]+)"')


def _register(client, url: str):
    token = page_token(client, "/admin/webhooks")
    return client.post("/admin/webhooks", data={"csrf_token": token, "url": url, "events": ["alert.firing"],
                                                "description": "CRM <b>prod</b>"})


def test_an_admin_registers_an_endpoint_and_sees_its_deliveries_as_text(app, signed_in, receiver):
    with_settings(app, webhook_allow_private=True)
    page = _register(signed_in, receiver.url)
    assert page.status_code == 201
    html = page.get_data(as_text=True)
    [secret] = SECRET.findall(html)
    assert "CRM &lt;b&gt;prod&lt;/b&gt;" in html
    assert secret not in signed_in.get("/admin/webhooks").get_data(as_text=True)  # shown once
    receiver.secrets = [secret]
    receiver.answer = lambda n: (200, {"Content-Type": "text/html"}, b"<script>alert('x')</script><img src=x>")
    with app.app_context(), get_db().transaction() as session:
        record_event(session, "alert.firing", {"rule": "r"}, dedupe_key="alert.firing:1", now=utcnow())
    pump(app)
    assert len(receiver.delivered()) == 1
    show = signed_in.get("/admin/webhooks/1").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x&gt;" in show
    assert "<script>alert" not in show and "<img src=x>" not in show

    rotated = signed_in.post("/admin/webhooks/1/rotate", data={"csrf_token": page_token(signed_in, "/admin/webhooks/1")})
    [new] = SECRET.findall(rotated.get_data(as_text=True))
    assert new != secret

    replayed = signed_in.post("/admin/webhooks/1/replay", data={"csrf_token": page_token(signed_in, "/admin/webhooks/1"),
                                                                  "hours": "1"})
    assert replayed.status_code == 303
    pump(app)
    assert [r.webhook_id for r in receiver.received] == [receiver.received[0].webhook_id] * 2

    toggled = signed_in.post("/admin/webhooks/1/toggle", data={"csrf_token": page_token(signed_in, "/admin/webhooks/1")})
    assert toggled.status_code == 303 and "Enable</button>" in signed_in.get("/admin/webhooks/1").get_data(as_text=True)
    deleted = signed_in.post("/admin/webhooks/1/delete", data={"csrf_token": page_token(signed_in, "/admin/webhooks/1")})
    assert deleted.status_code == 303
    assert signed_in.get("/admin/webhooks/1").status_code == 404


def test_a_private_url_is_refused_on_the_form(signed_in):
    page = _register(signed_in, "http://169.254.169.254/latest/meta-data")
    assert page.status_code == 422
    assert "link-local" in page.get_data(as_text=True)
    assert "No endpoints yet." in page.get_data(as_text=True)


def test_forms_need_their_csrf_token(app, signed_in):
    with_settings(app, webhook_allow_private=True)
    assert signed_in.post("/admin/webhooks", data={"url": "http://127.0.0.1/x", "events": ["alert.firing"]}).status_code in (400, 422)
    assert "No endpoints yet." in signed_in.get("/admin/webhooks").get_data(as_text=True)


def test_an_operator_is_refused(app, client, user):
    with app.app_context():
        create_user(get_db(), "op@example.com", "correct horse battery", role="operator")
    assert sign_in(client, "op@example.com").status_code == 302
    assert client.get("/admin/webhooks").status_code == 403
    assert "/admin/webhooks" not in client.get("/calls").get_data(as_text=True)
