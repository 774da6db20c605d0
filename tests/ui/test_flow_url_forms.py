"""Exotel's older flow URL (http://my.exotel.in/exoml/start/<app_id>) is a flow of App Bazaar like the documented one."""

from __future__ import annotations

import re

import pytest
import requests

from tests.support.calls import add_call
from tests.support.waiting import wait_for
from webapp.web.browser.display import flow_name

OLD_FORMS = ("http://my.exotel.in/exoml/start/4242", "http://my.exotel.com/exoml/start/4242")


@pytest.mark.parametrize("flow_url", [*OLD_FORMS, "http://my.exotel.com/acme1/exoml/start_voice/4242"])
def test_the_ui_names_either_form_by_its_app_id(flow_url):
    assert flow_name(flow_url) == "App 4242"


def test_finding_calls_by_app_id_finds_both_forms(app, signed_in):
    old = [add_call(app, flow_url=url) for url in OLD_FORMS]
    documented = add_call(app)  # http://my.exotel.com/<sid>/exoml/start_voice/4242
    other = add_call(app, flow_url="http://my.exotel.in/exoml/start/14242")
    page = signed_in.get("/calls?flow=4242").get_data(as_text=True)
    assert set(re.findall(r'data-call-id="([^"]+)"', page)) == {call.id for call in [*old, documented]}
    assert other.id not in page
    assert page.count(">App 4242<") >= 3


def test_a_call_to_an_older_flow_url_is_placed_and_completes(live_app, auth_headers):
    _app, live = live_app
    body = {"from": "+919876543210", "flow_url": OLD_FORMS[0]}
    response = requests.post(f"{live.url}/api/calls", json=body, headers=auth_headers, timeout=10)
    assert response.status_code == 201, response.text

    def final():
        call = requests.get(f"{live.url}/api/calls/{response.json()['id']}", headers=auth_headers, timeout=5).json()
        return call if call["status"] == "completed" and call["conversation_duration"] else None

    call = wait_for(final, 15, 0.05, what="call completed")
    assert call["flow_url"] == OLD_FORMS[0] and call["answered_by"] == "Human" and call["conversation_duration"] == 4
