"""The StatusCallbacks wrk replays: built by the simulator's own payload code, in three encodings.

Each call's events (answered before terminal) come from
:mod:`webapp.simulator.callbacks`, encoded as the simulator sends them
(multipart, JSON) plus url-encoded; one request in ten repeats an earlier one.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import requests

from webapp.simulator import callbacks
from webapp.simulator.call import SimCall
from webapp.simulator.formats import now_ist

DUPLICATE_EVERY = 10  # one request in ten repeats an earlier one exactly
EXOPHONE = "08047112345"
ENCODINGS = (callbacks.MULTIPART, "application/x-www-form-urlencoded", callbacks.JSON)


@dataclass
class Sent:
    """One request line for wrk, and the logical event it carries."""

    path: str
    content_type: str
    body: bytes
    event: tuple[str, str]  # (call id, event type)


@dataclass
class RunSet:
    """The requests of one wrk run, split between wrk's threads."""

    name: str
    per_thread: list[list[Sent]] = field(default_factory=list)

    def write(self, directory: Path) -> None:
        """Write each thread's requests as the replay script reads them."""
        directory.mkdir(parents=True, exist_ok=True)
        for index, items in enumerate(self.per_thread):
            with open(directory / f"t{index}.dat", "wb") as handle:
                for item in items:
                    handle.write(f"POST\t{item.path}\t{item.content_type}\t{len(item.body)}\n".encode())
                    handle.write(item.body + b"\n")

    def sent_events(self, issued: list[int]) -> set[tuple[str, str]]:
        """The logical events among the first `issued[i]` requests of each thread (wrk wraps around)."""
        events = set()
        for items, count in zip(self.per_thread, issued, strict=False):
            events.update(item.event for item in items[:count])
        return events


def make_calls(count: int) -> list[dict]:
    """Calls to pre-create: id, Sid, number, and the outcome their callbacks report (7 in 10 completed)."""
    outcomes = ["completed"] * 7 + ["busy", "no-answer", "failed"]
    return [
        {"id": str(uuid.uuid4()), "sid": uuid.uuid4().hex, "from_number": f"+9198{random.randint(10**7, 10**8 - 1)}",
         "outcome": random.choice(outcomes)}
        for _ in range(count)
    ]


def _sim_call(call: dict, created: datetime) -> SimCall:
    """The simulator's record of ``call`` once it ended, talking 20-300 s when completed."""
    talk = random.randint(20, 300) if call["outcome"] == "completed" else 0
    sim = SimCall(sid=call["sid"], account_sid="bench", from_number=call["from_number"], caller_id=EXOPHONE,
                  flow_url="http://my.exotel.com/bench/exoml/start_voice/1", outcome=call["outcome"], created=created,
                  custom_field=f"order-{call['id'][:8]}", events=callbacks.EVENTS, talk_seconds=talk,
                  status=call["outcome"], conversation=talk)
    if talk:
        sim.answered_at = created + timedelta(seconds=6)
        sim.recording_url = f"https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/bench/{sim.sid}.mp3"
    sim.ended_at = created + timedelta(seconds=6 + talk)
    return sim


def events(call: dict, created: datetime) -> list[tuple[str, dict]]:
    """The callbacks Exotel posts for ``call``: answered (when it was) and terminal."""
    sim = _sim_call(call, created)
    found = [(callbacks.ANSWERED, callbacks.answered_payload(sim))] if sim.answered_at else []
    return [*found, (callbacks.TERMINAL, callbacks.terminal_payload(sim))]


def encode(payload: dict, content_type: str) -> tuple[str, bytes]:
    """The Content-Type and body of ``payload``: the simulator's own encoding, or url-encoded."""
    if content_type not in callbacks.CONTENT_TYPES:
        return content_type, urlencode(callbacks.flatten(payload)).encode()
    prepared = requests.Request("POST", "http://bench/", **callbacks.request_kwargs(payload, content_type)).prepare()
    body = prepared.body if isinstance(prepared.body, bytes) else str(prepared.body).encode()
    return prepared.headers["Content-Type"], body


def make_runset(name: str, calls: list[dict], threads: int, secret_key: str) -> RunSet:
    """Every call's events (answered before terminal), round-robin encodings, 10 % exact duplicates."""
    from webapp.calls.signing import callback_token

    runset = RunSet(name, [[] for _ in range(threads)])
    created = now_ist() - timedelta(hours=1)
    encoding = 0
    for index, call in enumerate(calls):
        items = runset.per_thread[index % threads]
        path = f"/webhooks/exotel/{call['id']}/{callback_token(secret_key, call['id'])}"
        for event_type, payload in events(call, created):
            content_type, body = encode(payload, ENCODINGS[encoding % len(ENCODINGS)])
            encoding += 1
            items.append(Sent(path, content_type, body, (call["id"], event_type)))
            if len(items) % (DUPLICATE_EVERY - 1) == 0:
                items.append(items[-random.randint(1, min(len(items), 20))])
    return runset
