"""The database layer: base and types, engine tuning, the per-request session, the fast write path."""

from .base import NAMING_CONVENTION, Base, BigId, UTCDateTime, utcnow
from .engine import WRITE, make_engine
from .session import Database, get_db

__all__ = ["NAMING_CONVENTION", "WRITE", "Base", "BigId", "Database", "UTCDateTime", "get_db", "make_engine", "utcnow"]
