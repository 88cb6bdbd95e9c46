"""A webhook receiver on loopback for the tests: a threaded werkzeug server that checks each
delivery's signature itself (plain hmac, not the code under test) and answers as scripted."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SECRET = "test-webhook-secret-0123456789"


class Receiver:
    """Serve on 127.0.0.1 while used as a context manager; ``url`` is where to POST.

    ``script``: what to answer, one entry per request (then 200): an HTTP status, ``"hang"``
    (wait until :meth:`release` or ``hang_seconds``, then 200), or ``(status, headers)``.
    ``received`` lists each request as a dict: ``event``, ``delivery``, ``signature_ok``,
    ``body`` (parsed JSON), ``raw`` (bytes), ``t`` (the signature's timestamp).
    """

    def __init__(self, script=(), *, secret: str = SECRET, hang_seconds: float = 10.0):
        self.script = list(script)
        self.secret = secret
        self.hang_seconds = hang_seconds
        self.received: list[dict] = []
        self.hanging = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/assistant"

    def _app(self, environ, start_response):
        request = Request(environ)
        raw = request.get_data()
        fields = dict(part.split("=", 1) for part in
                      request.headers.get("X-Assistant-Signature", "").split(",") if "=" in part)
        expected = hmac.new(self.secret.encode(), f"{fields.get('t', '')}.".encode() + raw,
                            hashlib.sha256).hexdigest()
        with self._lock:
            self.received.append({
                "event": request.headers.get("X-Assistant-Event"),
                "delivery": request.headers.get("X-Assistant-Delivery"),
                "signature_ok": hmac.compare_digest(expected, fields.get("v1", "")),
                "t": int(fields["t"]) if fields.get("t", "").isdigit() else None,
                "body": json.loads(raw) if raw else None, "raw": raw,
                "path": request.path, "at": time.time()})
            action = self.script.pop(0) if self.script else 200
        if action == "hang":
            self.hanging.set()
            self._release.wait(self.hang_seconds)
            self.hanging.clear()
            action = 200
        status, headers = action if isinstance(action, tuple) else (action, {})
        return Response(f"status {status}", status=status, headers=headers)(
            environ, start_response)

    def release(self) -> None:
        """End every hang now (and any later one at once)."""
        self._release.set()

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self.server.shutdown()


def wait_for(predicate, timeout: float = 10.0, every: float = 0.02):
    """Call ``predicate`` until it returns something true (returned) or ``timeout`` s pass
    (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(every)
