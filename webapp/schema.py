"""Every table of the app's database, registered on one metadata: create_app and migrations/env.py import this.

Each table is declared beside the code that owns it; importing this module puts
them all on `Base.metadata`, so the schema check, `create_all` and Alembic's
autogenerate see the same set.
"""

from __future__ import annotations

from . import models  # calls and their events, users, sessions, links, audit log, API tokens, idempotency keys
from . import signals as alert_signals  # what the alert rules read: Exotel's refusals, budget waits, runs
from .accounts import setup_codes  # the first admin's one-time set-up code
from .alerts import models as alert_models  # alerts, firing and resolved
from .campaigns import models as campaign_models  # campaigns, their contacts, the suppression list
from .db import Base
from .jobs import tables as job_tables  # worker heartbeats; the queue's and the Exotel budget's tables
from .reporting import cache as report_cache  # the report's hourly cache
from .webhooks import models as webhook_models  # outbound webhooks: endpoints, events, messages, deliveries

metadata = Base.metadata

__all__ = [
    "alert_models", "alert_signals", "campaign_models", "job_tables", "metadata", "models", "report_cache", "setup_codes",
    "webhook_models",
]
