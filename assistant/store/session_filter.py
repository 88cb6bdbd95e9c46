"""The session list's filter: :func:`parse_filter` turns the query string into a
:class:`SessionFilter` (or raises :class:`FilterError` naming each bad field), and the
states a session can be in as the console shows it (:data:`STATES`; see
:mod:`assistant.store.console`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from .share_codes import normalize_share_code

TEXT_FILTER_MAX = 96  # the longest flow id, connection id or cause id a filter may name
CUSTOMER_FILTER_MAX = 200  # the longest customer reference a launch token may carry
ENDED_STATES = ("resolved", "unresolved", "escalated")
STATES = (*ENDED_STATES, "active", "abandoned")


class FilterError(ValueError):
    """The session list's filters cannot be used. ``errors`` maps each bad field (the query
    string's name: ``code``, ``outcome``, ``from``, ``to``, ``page``, …) to a message saying
    what is wrong and what would be right."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class SessionFilter:
    """What the session list shows: every field None means "any".

    ``state`` is one of :data:`STATES`; ``created_from``/``created_to`` are UTC dates, both
    inclusive; ``code`` a share code in its stored form ("K7-4QX"); ``customer_ref`` the
    customer reference of the launch token that started the session, exactly. ``page`` is
    1-based.
    """

    flow_id: str | None = None
    state: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    connection_id: str | None = None
    cause: str | None = None
    code: str | None = None
    customer_ref: str | None = None
    page: int = 1


def parse_filter(args: Mapping[str, str]) -> SessionFilter:
    """The filter a query string asks for (keys ``code``, ``flow``, ``outcome``, ``from``,
    ``to``, ``connection``, ``cause``, ``customer``, ``page``; missing or empty ones mean
    "any").

    ``code`` may be spelled any way :func:`normalize_share_code` accepts ("k7 4qx");
    dates are ``YYYY-MM-DD``; ``page`` a whole number from 1.

    Raises:
        FilterError: with a message for each field that cannot be used.
    """
    errors: dict[str, str] = {}

    def text(name: str, what: str, limit: int = TEXT_FILTER_MAX) -> str | None:
        value = (args.get(name) or "").strip()
        if len(value) > limit:
            errors[name] = f"That {what} is too long to be one ({limit} characters at most)."
        return value or None

    def day(name: str, what: str) -> date | None:
        value = (args.get(name) or "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            errors[name] = f"The {what} date {value[:20]!r} is not a date: use the form " \
                           "YYYY-MM-DD, for example 2025-03-31."
            return None

    code = None
    typed_code = (args.get("code") or "").strip()
    if typed_code:
        code = normalize_share_code(typed_code[:32])
        if code is None:
            errors["code"] = f"{typed_code[:16]!r} is not a session code. Codes look like " \
                             "K7-4QX: two characters, a dash, three characters."
    state = (args.get("outcome") or "").strip() or None
    if state is not None and state not in STATES:
        errors["outcome"] = f"{state[:20]!r} is not an outcome: choose one of " \
                            f"{', '.join(STATES)}."
        state = None
    created_from, created_to = day("from", "from"), day("to", "to")
    if created_from and created_to and created_from > created_to:
        errors["to"] = f"The to date ({created_to}) is before the from date " \
                       f"({created_from}): swap them or change one."
    page = 1
    raw_page = (args.get("page") or "").strip()
    if raw_page:
        if re.fullmatch(r"[0-9]+", raw_page) and raw_page.strip("0"):
            page = int(raw_page) if len(raw_page) <= 12 else 10**12  # past any end
        else:
            errors["page"] = f"{raw_page[:12]!r} is not a page number: use a whole number " \
                             "from 1."
    result = SessionFilter(flow_id=text("flow", "flow id"), state=state,
                           created_from=created_from, created_to=created_to,
                           connection_id=text("connection", "connection id"),
                           cause=text("cause", "cause id"), code=code,
                           customer_ref=text("customer", "customer reference",
                                             CUSTOMER_FILTER_MAX), page=page)
    if errors:
        raise FilterError(errors)
    return result
