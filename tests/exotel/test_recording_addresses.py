"""Which recording addresses are fetched, and with the account's credentials or without (pure rules)."""

from __future__ import annotations

import pytest

from webapp.exotel.recordings import clean_range, credentials_go_to, without_secrets

API = "https://api.in.exotel.com"
LOCAL = "http://127.0.0.1:9000"


@pytest.mark.parametrize("url, origin, verdict", [
    ("https://recordings.exotel.com/exotelrecordings/acme/abc.mp3", API, True),  # today's RecordingUrl
    ("https://recordings.in.exotel.com/exotelrecordings/acme/abc.mp3", API, True),
    ("https://api.exotel.com/v1/Accounts/acme/Recordings/abc", API, True),
    ("https://my.exotel.in/recordings/abc.mp3", API, True),
    ("https://RECORDINGS.EXOTEL.COM./x.mp3", API, True),
    ("https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/acme/abc.mp3", API, False),  # older links: no credentials
    ("https://exotelrecordings.s3.ap-south-1.amazonaws.com/acme/abc.mp3", API, False),
    ("http://127.0.0.1:9000/recordings/acme/abc.wav", LOCAL, True),  # EXOTEL_API_BASE: scheme, host and port alike
    ("http://127.0.0.1:9001/recordings/acme/abc.wav", LOCAL, None),
    ("https://127.0.0.1:9000/recordings/acme/abc.wav", LOCAL, None),
    ("http://recordings.exotel.com/x.mp3", API, None),  # no credentials in clear
    ("https://s3-ap-southeast-1.amazonaws.com/someone-else/abc.mp3", API, None),
    ("https://exotel.com.evil.example/x.mp3", API, None),
    ("https://evilexotel.com/x.mp3", API, None),
    ("https://recordings.exotel.com@evil.example/x.mp3", API, None),
    ("ftp://recordings.exotel.com/x.mp3", API, None),
    ("https://recordings.exotel.com:99999/x.mp3", API, None),
    ("javascript:alert(1)", API, None),
])
def test_only_exotels_hosts_are_fetched_and_only_they_get_the_credentials(url, origin, verdict):
    assert credentials_go_to(url, origin) is verdict


@pytest.mark.parametrize("value, passed", [
    ("bytes=0-99", "bytes=0-99"), ("bytes=100-", "bytes=100-"), ("bytes=-500", "bytes=-500"),
    ("bytes=-", None), ("bytes=0-1,5-9", None), ("items=0-9", None), ("bytes=0-99\r\nX: y", None), (None, None),
])
def test_only_a_single_byte_range_is_passed_on(value, passed):
    assert clean_range(value) == passed


def test_a_payload_is_shown_without_its_secrets():
    shown = without_secrets({"PreSignedRecordingUrl": "https://s3.example/x?X-Amz-Signature=abc", "Legs": [],
                             "RecordingUrl": "https://key:token@recordings.exotel.com/x.mp3", "Status": "completed"})
    assert shown == {"PreSignedRecordingUrl": "(hidden: a pre-signed link)", "Legs": [],
                     "RecordingUrl": "https://recordings.exotel.com/x.mp3", "Status": "completed"}
