"""The outbound webhook: signed JSON POSTs of handoffs, sent off the request thread, retried.

A customer's request only stores a delivery (:mod:`assistant.store.webhooks`) and wakes this
process's :class:`WebhookSender`, a daemon thread that claims due deliveries, POSTs them and
records each attempt. A failing or hanging receiver never slows a page.

**What a receiver gets.** ``POST WEBHOOK_URL`` with ``Content-Type: application/json`` and:

| header | value |
|---|---|
| ``X-Assistant-Event`` | ``handoff.created``, or ``handoff.updated`` (the customer added an |
|                       | email address or message, or gave feedback)                        |
| ``X-Assistant-Delivery`` | the delivery's id: the same on every retry, so use it to ignore |
|                          | a delivery received twice                                       |
| ``X-Assistant-Signature`` | ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` |

**Verifying a delivery.** Compute ``HMAC-SHA256(WEBHOOK_SECRET, "<t>." + <raw body bytes>)``
as lower-case hex and compare it, in constant time, with ``v1``; refuse a ``t`` more than a few
minutes from your clock (a replayed old delivery). Use the body bytes exactly as received,
before any JSON parsing. :func:`verify_signature` does all of this::

    from assistant.webhooks import verify_signature
    ok = verify_signature(secret, request.get_data(), request.headers["X-Assistant-Signature"])

Each attempt is signed afresh (a new ``t``). During a secret rotation a signature header may
carry several ``v1=`` values; one matching is enough.

**Delivery.** At least once: answer 2xx within the timeout once stored. 408, 429, 5xx, a
timeout or a connection error are retried after ``WEBHOOK_BACKOFF_SECONDS``, doubling each
time (at most an hour; a ``Retry-After`` in seconds is honoured), up to
``WEBHOOK_MAX_ATTEMPTS`` attempts; any other answer (a 4xx, or a 3xx: redirects are not
followed) fails the delivery at once. Staff see every attempt on the handoff's console page and
can retry a failed delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from .store.health import is_unavailable
from .store.models import utcnow
from .store.webhooks import Claim, WebhookDeliveries

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Assistant-Signature"
EVENT_HEADER = "X-Assistant-Event"
DELIVERY_HEADER = "X-Assistant-Delivery"
MAX_BACKOFF_SECONDS = 3600.0
RETRIED_STATUSES = frozenset({408, 429})
ERROR_TEXT_BYTES = 300  # of a refusing receiver's answer, kept with the attempt


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Assistant-Signature`` value for ``body`` (the exact bytes sent) at
    ``timestamp`` (unix seconds): ``t=<timestamp>,v1=<hex HMAC-SHA256(secret, "t." + body)>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(secret: str, body: bytes, header: str | None, *,
                     tolerance_seconds: float = 300, now: float | None = None) -> bool:
    """True if ``header`` (an ``X-Assistant-Signature`` value) signs ``body`` (the raw request
    bytes) with ``secret`` and its timestamp is within ``tolerance_seconds`` of ``now`` (unix
    seconds; default: the clock). Never raises: a missing or malformed header is False."""
    if not header:
        return False
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, c) for c in candidates)


def backoff_seconds(first: float, attempt: int) -> float:
    """The wait after failed attempt number ``attempt`` (1 = first): ``first`` doubled for
    each attempt before it, at most :data:`MAX_BACKOFF_SECONDS`."""
    return min(first * 2 ** min(attempt - 1, 32), MAX_BACKOFF_SECONDS)


@dataclass(frozen=True)
class AttemptResult:
    """What one POST came to: the HTTP status (None without an answer), an error text for a
    failure, the time it took in ms, whether it should be retried, and a ``Retry-After`` the
    receiver asked for (seconds) if any."""

    status: int | None
    error: str | None
    duration_ms: int
    retry: bool
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        """True for a 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


def _printable(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\x20-\x7e\s]", "?", text)).strip()


def post_delivery(client: httpx.Client, url: str, body: bytes, headers: dict[str, str],
                  timeout: float) -> AttemptResult:
    """POST ``body`` to ``url`` once with ``client`` (redirects are not followed) and classify
    the answer. Never raises for anything the network or the receiver does."""
    started = time.monotonic()

    def took() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        with client.stream("POST", url, content=body, headers=headers,
                           follow_redirects=False) as response:
            status = response.status_code
            if 200 <= status < 300:
                return AttemptResult(status, None, took(), retry=False)
            text = b""
            if not 300 <= status < 400:
                for chunk in response.iter_bytes():
                    text += chunk
                    if len(text) >= ERROR_TEXT_BYTES:
                        break
            snippet = _printable(text[:ERROR_TEXT_BYTES].decode("utf-8", "replace"))
            error = f"HTTP {status} {response.reason_phrase}".strip()
            if 300 <= status < 400:
                error += ": redirects are not followed; set WEBHOOK_URL to the final address"
            elif snippet:
                error += f": {snippet}"
            retry = status in RETRIED_STATUSES or status >= 500
            retry_after = response.headers.get("Retry-After", "")
            # Seconds only (an HTTP date is ignored); isdigit() alone accepts "²", which
            # float() refuses.
            return AttemptResult(status, error, took(), retry=retry,
                                 retry_after=float(retry_after) if retry
                                 and retry_after.isascii() and retry_after.isdigit() else None)
    except httpx.TimeoutException:
        return AttemptResult(None, f"No answer within {timeout:g} s (timed out)", took(),
                             retry=True)
    except httpx.UnsupportedProtocol as e:
        return AttemptResult(None, f"Cannot send there: {e}", took(), retry=False)
    except httpx.TransportError as e:
        return AttemptResult(None, f"{type(e).__name__}: {_printable(str(e)) or 'no detail'}",
                             took(), retry=True)
    except httpx.HTTPError as e:  # e.g. an invalid URL
        return AttemptResult(None, f"{type(e).__name__}: {_printable(str(e))}", took(),
                             retry=False)


class WebhookSender:
    """Sends this process's share of the due deliveries from one daemon thread.

    ``secret`` signs each attempt; ``max_attempts`` attempts per delivery; ``backoff`` is the
    first retry's wait in seconds (doubling, capped at an hour); ``timeout`` the connect/read/
    write timeout of one POST in seconds; ``poll_seconds`` the longest the thread sleeps when
    nothing is known to be due (it also wakes for deliveries whose sender died elsewhere).
    Without a ``url`` (no webhook configured) it never starts a thread.
    """

    def __init__(self, deliveries: WebhookDeliveries, *, url: str | None, secret: str | None,
                 max_attempts: int, backoff: float, timeout: float, poll_seconds: float = 30.0):
        self.deliveries = deliveries
        self.url, self.secret = url, secret
        self.max_attempts, self.backoff, self.timeout = max_attempts, backoff, timeout
        self.poll_seconds = poll_seconds
        # A claim outlasts any single attempt (connect + write + read, each ≤ timeout).
        self.lease_seconds = 4 * timeout + 30
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[:128]
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, deliveries: WebhookDeliveries, config) -> WebhookSender:
        """A sender with the app's ``WEBHOOK_*`` settings (see :mod:`assistant.config`)."""
        return cls(deliveries, url=config.get("WEBHOOK_URL"),
                   secret=config.get("WEBHOOK_SECRET"),
                   max_attempts=config["WEBHOOK_MAX_ATTEMPTS"],
                   backoff=config["WEBHOOK_BACKOFF_SECONDS"],
                   timeout=config["WEBHOOK_TIMEOUT_SECONDS"])

    @property
    def enabled(self) -> bool:
        """True when a webhook URL is configured."""
        return bool(self.url and self.secret)

    def start(self) -> None:
        """Start the thread (again after a fork, or if it died); no-op without a URL."""
        if not self.enabled:
            return
        with self._lock:
            if os.getpid() != self._pid:  # a forked worker: the parent's thread is not here
                self._pid, self._thread = os.getpid(), None
                self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="webhook-sender",
                                            daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Something was enqueued: send it now. Never raises (a page must not fail on it)."""
        try:
            self.start()
            self._wake.set()
        except Exception:  # pragma: no cover - e.g. no more threads; the poll catches up
            log.exception("could not wake the webhook sender")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread after its current attempt (waits up to ``timeout`` seconds)."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def send_due(self, now: datetime | None = None) -> int:
        """Claim and send due deliveries until none is left; returns the attempts made."""
        made = 0
        with httpx.Client(timeout=httpx.Timeout(self.timeout), follow_redirects=False,
                          headers={"User-Agent": "assistant-webhooks/1"}) as client:
            while not self._stopping.is_set():
                claim = self.deliveries.claim(self.owner, self.lease_seconds, now)
                if claim is None:
                    break
                self._attempt(client, claim)
                made += 1
        return made

    def _attempt(self, client: httpx.Client, claim: Claim) -> None:
        body = claim.body.encode()
        headers = {"Content-Type": "application/json", EVENT_HEADER: claim.event,
                   DELIVERY_HEADER: str(claim.id),
                   SIGNATURE_HEADER: sign(self.secret or "", body, int(time.time()))}
        result = post_delivery(client, claim.url, body, headers, self.timeout)
        now = utcnow()
        if result.delivered:
            state, error, when = "delivered", None, None
        elif result.retry and claim.number < self.max_attempts:
            wait = max(backoff_seconds(self.backoff, claim.number),
                       min(result.retry_after or 0, MAX_BACKOFF_SECONDS))
            state, error, when = "pending", result.error, now + timedelta(seconds=wait)
        else:
            state = "failed"
            error = result.error if not result.retry else (
                f"{result.error} (gave up after {claim.number} attempts)")
            when = None
        if not self.deliveries.finish(claim, self.owner, status=result.status, error=error,
                                      duration_ms=result.duration_ms, state=state,
                                      next_attempt_at=when, now=now):
            log.warning("webhook delivery %s: the claim ran out before attempt %s finished",
                        claim.id, claim.number)
        if state != "delivered":
            log.warning("webhook delivery %s attempt %s: %s", claim.id, claim.number, error)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            wait = self.poll_seconds
            try:
                made = self.send_due()
                due = self.deliveries.next_due()
                if due is not None:
                    wait = min(wait, max(0.0, (due - utcnow()).total_seconds()))
                    if made == 0 and wait == 0.0:
                        wait = 1.0  # due but not ours to claim (another sender has it)
            except Exception as e:  # the database was away: try again after a pause
                if not is_unavailable(e):  # an outage is logged once, by the store's health
                    log.exception("webhook sender")
            self._wake.wait(wait)
