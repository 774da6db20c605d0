"""What a rule is: a name, a severity, and a check of the product's own tables at a moment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ...config import Settings

CRITICAL, WARNING = "critical", "warning"


@dataclass(frozen=True)
class Context:
    """What a check may read besides the session: the settings, the moment, and readers handed in from above."""

    settings: Settings
    now: datetime
    #: The latest worker heartbeat (the jobs layer owns that table), for worker_down.
    worker_last_seen: Callable[[], datetime | None] | None = None
    #: Since when the process evaluating has watched (worker_down with no heartbeat ever).
    watching_since: datetime | None = None


@dataclass(frozen=True)
class Finding:
    """The condition holds: what to say, the numbers behind it, and the calls it is about."""

    summary: str
    detail: dict[str, Any] = field(default_factory=dict)
    call_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str
    check: Callable[[Session, Context], Finding | None]  # None: the condition does not hold
    by_web: bool = False  # evaluated by the web app (no worker is left to notice), not by the worker
