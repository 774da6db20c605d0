"""Outbound webhooks (Standard Webhooks): endpoints, the transactional outbox, signed delivery with retries.

- `models`: the tables; `outbox`: events in (record_event, the triggers' rows) and fan-out to endpoints;
- `delivery`: claim under a lease, send signed, record the attempt and the next one (`schedule`);
- `endpoints`: register, change, rotate, delete, replay (audited); `queries`: reading them;
- `addresses`: public addresses only, at registration and at connect time; `secrets`: whsec_ secrets, encrypted.
"""

from .outbox import failing_endpoints, record_event

__all__ = ["failing_endpoints", "record_event"]
