"""Exotel's bulk Calls list: the ``Sid``, ``From``, ``To``, ``PhoneNumber``, ``Status`` and
``DateCreated`` filters, newest first (or ``SortBy=DateCreated:asc``), paged by ``PageSize``
with an ``After`` cursor that ``Metadata.NextPageUri`` carries.

Calls still in progress are not listed, as on Exotel. A flow call has no ``To`` of
its own: ``To`` and ``PhoneNumber`` both match its ExoPhone (the ``To`` of its callbacks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from .call import SimCall
from .formats import EXOTEL_TZ, TIMESTAMP_FORMAT
from .validation import exotel_number

MAX_SIDS = 100
MAX_NUMBERS = 5
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
MAX_RANGE = timedelta(days=31)


class QueryError(ValueError):
    """A list request Exotel would refuse with 400; the message names the parameter."""


@dataclass(frozen=True)
class CallQuery:
    """One bulk list request, parsed."""

    sids: tuple[str, ...] | None = None
    from_numbers: frozenset[str] | None = None
    to_numbers: frozenset[str] | None = None
    phone_numbers: frozenset[str] | None = None
    statuses: frozenset[str] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    page_size_given: bool = False
    ascending: bool = False
    after: str | None = None
    details: bool = False

    def matches(self, call: SimCall) -> bool:
        """True when the finished ``call`` passes every filter."""
        checks = (
            self.from_numbers is None or call.from_number in self.from_numbers,
            self.to_numbers is None or call.caller_id in self.to_numbers,
            self.phone_numbers is None or call.caller_id in self.phone_numbers,
            self.statuses is None or call.status in self.statuses,
            self.created_from is None or call.created >= self.created_from,
            self.created_to is None or call.created <= self.created_to,
        )
        return call.finished and all(checks)

    def params(self) -> list[tuple[str, str]]:
        """Return the query string that asks for this list again (the cursor included)."""
        items: list[tuple[str, str]] = []
        if self.sids is not None:
            items.append(("Sid", ",".join(self.sids)))
        for name, values in (("From", self.from_numbers), ("To", self.to_numbers),
                             ("PhoneNumber", self.phone_numbers), ("Status", self.statuses)):
            if values is not None:
                items.append((name, ",".join(sorted(values))))
        bounds = [f"{op}:{moment.strftime(TIMESTAMP_FORMAT)}"
                  for op, moment in (("gte", self.created_from), ("lte", self.created_to)) if moment]
        if bounds:
            items.append(("DateCreated", ";".join(bounds)))
        if self.page_size_given or self.sids is None:
            items.append(("PageSize", str(self.page_size)))
        if self.ascending:
            items.append(("SortBy", "DateCreated:asc"))
        if self.details:
            items.append(("details", "true"))
        if self.after:
            items.append(("After", self.after))
        return items


def _list(args: Mapping[str, str], name: str, limit: int) -> tuple[str, ...] | None:
    """Return the comma-separated values of ``name`` (None when absent), at most ``limit``."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    values = tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
    if len(values) > limit:
        raise QueryError(f"{name} accepts at most {limit} comma-separated values")
    return values


def _numbers(args: Mapping[str, str], name: str) -> frozenset[str] | None:
    """Return the numbers of ``name`` as Exotel shows them (``+91...`` becomes ``0...``)."""
    values = _list(args, name, MAX_NUMBERS)
    if values is None:
        return None
    return frozenset(exotel_number(v.replace(" ", "").replace("-", "")) for v in values)


def _date_range(raw: str) -> tuple[datetime | None, datetime | None]:
    """Parse ``gte:YYYY-MM-DD HH:mm:ss;lte:...`` (Exotel's local time) into aware bounds."""
    bounds: dict[str, datetime] = {}
    for part in raw.split(";"):
        op, sep, value = part.strip().partition(":")
        if not sep or op not in ("gte", "lte") or op in bounds:
            raise QueryError("DateCreated must look like gte:YYYY-MM-DD HH:mm:ss;lte:YYYY-MM-DD HH:mm:ss")
        try:
            bounds[op] = datetime.strptime(value.strip(), TIMESTAMP_FORMAT).replace(tzinfo=EXOTEL_TZ)
        except ValueError:
            raise QueryError(f"DateCreated {op} must be a time as YYYY-MM-DD HH:mm:ss") from None
    low, high = bounds.get("gte"), bounds.get("lte")
    if low and high and (high < low or high - low > MAX_RANGE):
        raise QueryError("DateCreated must span at most one month, lte after gte")
    return low, high


def parse_query(args: Mapping[str, str]) -> CallQuery:
    """Parse a bulk list request's query arguments; QueryError for what Exotel would refuse."""
    sids = _list(args, "Sid", MAX_SIDS)
    raw_size = args.get("PageSize")
    if raw_size is not None and (not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE_SIZE):
        raise QueryError(f"PageSize must be an integer between 1 and {MAX_PAGE_SIZE}")
    # A Sid list without PageSize is answered in one page, however long.
    size = int(raw_size) if raw_size is not None else (len(sids) if sids else DEFAULT_PAGE_SIZE)
    sort = args.get("SortBy", "DateCreated:desc")
    if sort not in ("DateCreated:asc", "DateCreated:desc"):
        raise QueryError("SortBy must be DateCreated:asc or DateCreated:desc")
    statuses = _list(args, "Status", MAX_NUMBERS)
    low, high = _date_range(args["DateCreated"]) if args.get("DateCreated") else (None, None)
    return CallQuery(
        sids=sids, from_numbers=_numbers(args, "From"), to_numbers=_numbers(args, "To"),
        phone_numbers=_numbers(args, "PhoneNumber"),
        statuses=frozenset(statuses) if statuses is not None else None,
        created_from=low, created_to=high, page_size=size, page_size_given=raw_size is not None,
        ascending=sort.endswith(":asc"), after=args.get("After") or None,
        details=(args.get("details") or "").lower() == "true",
    )


def select(calls: Iterable[SimCall], query: CallQuery) -> list[SimCall]:
    """Return the calls the query lists, in its order (``calls`` in the order they were placed)."""
    placed = list(calls)
    if query.sids is not None:
        wanted = set(query.sids)
        placed = [c for c in placed if c.sid in wanted]
    chosen = [c for c in placed if query.matches(c)]
    # Stable on placing order, so calls created in the same second keep one order.
    order = {c.sid: i for i, c in enumerate(placed)}
    chosen.sort(key=lambda c: (c.created, order[c.sid]), reverse=not query.ascending)
    return chosen


def page(chosen: list[SimCall], query: CallQuery, base: str) -> dict[str, Any]:
    """Return the ``Metadata`` and ``Calls`` of the query's page; QueryError for an unknown cursor."""
    start = 0
    if query.after:
        position = next((i for i, c in enumerate(chosen) if c.sid == query.after), None)
        if position is None:
            raise QueryError("After must be a cursor from NextPageUri")
        start = position + 1
    rows = chosen[start:start + query.page_size]
    more = start + query.page_size < len(chosen)
    first = f"{base}?{urlencode(replace(query, after=None).params())}"
    next_uri = f"{base}?{urlencode(replace(query, after=rows[-1].sid).params())}" if more and rows else None
    metadata = {"Total": len(chosen), "PageSize": query.page_size, "FirstPageUri": first,
                "PrevPageUri": None, "NextPageUri": next_uri}
    return {"Metadata": metadata, "Calls": [c.resource(query.details) for c in rows]}
