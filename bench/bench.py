"""Benchmark of answering a step: two throughput ratios and a latency ratio, printed with their
targets.

Run from the repository root: ``.venv/bin/python bench/bench.py [--duration S] [--clients N]``
(also ``--warmup S``, ``--slices K``, ``--only a,b,c,d``, for (c) ``--connections N`` and
``--poll S``, for (d) ``--events N`` and ``--runs K``). It always exits 0; a ratio on the wrong
side of its target is printed with ``MISSED``.

What is measured
----------------
An *answer* is the wizard's htmx POST ``/s/<sid>/<n>`` (form fields ``answer``, ``revision``,
``csrf_token``; header ``HX-Request: true``). It must come back 200 with ``HX-Push-Url`` set to
position ``n + 1`` and the ``#step`` fragment (not a full page); anything else is an error,
reported and not counted.

(a) answer ÷ bare render: answers/s on a generated 10-step flow, divided by requests/s of
    ``bench/bare_app.py``, a bare Flask app whose single route renders the same fragments
    (``step.html``, ``fragment=True``, the same template arguments, form token and response
    headers) with no database, no engine and no token check. Target ≥ 0.8; the ratio of
    server CPU per request (bare ÷ answer) is printed beside it (target ≥ 0.6). The same for
    the no-JS cycle (POST, 303, GET of the next step's full page; one cycle counted per
    answer), target ≥ 0.5. With ``--postgres W``: the answer rate on PostgreSQL with W
    workers ÷ SQLite with 2, target ≥ 1.5.
(b) 1000-step ÷ 10-step: answers/s on a generated 1,000-step flow divided by answers/s on the
    10-step flow, measured the same way in the same run. Every timed session starts at
    position 0, so a 1,000-step session gets only as far as its client's share of the requests
    (the mean and largest positions answered are printed; a longer ``--duration`` goes deeper).
    An extra, informative measurement answers only the first 9 steps of the 1,000-step flow
    before starting a new session: the 10-step flow's positions on the bigger flow, i.e. the
    cost of the flow's size alone, apart from the length of the path walked so far.
    Target ≥ 0.95.
(c) probe upstream hung ÷ healthy: the p99 latency of answers on the 10-step flow (each timed
    from sending the POST to the end of the response) while customers wait at probe steps whose
    upstream hangs, divided by the p99 while the same customers wait at the same steps and the
    upstream answers. Target ≤ 1.5. Checks run off the request thread (``ProbeRunner``), so a
    hung upstream should tie up only probe pool threads; this is the figure that says whether
    it does. p50 and p99 of both, and the number of answers each is based on, are printed.
(d) the analytics page on 1,000,000 seeded events: median and worst wall time of the default
    view and of the heaviest one (all time, the biggest flow), its charts and CSV exports, and
    the median ÷ the 0.5 s target. ``bench/analytics_bench.py`` seeds and times it (see its
    docstring); it runs last, in this process, after the servers of (a) to (c) have stopped.

How
---
(a) and (b)
-----------
The generated flows (linear chains of ``instruction`` steps, each with one answer ``next`` to
the following step, ending in a ``resolved`` end step) are written to a temporary folder, with
a SQLite database migrated by ``assistant db upgrade``. The real app
(``assistant.web:create_app()``) and the bare app (``bare_app:create_app()``) are each served by
``gunicorn -c python:assistant.gunicorn_conf -w 2 -b 127.0.0.1:PORT`` with the same
environment and the same settings, the production ones (README, "Configuration and
production"): sync workers, which close the connection after every response (so each request
opens a TCP connection, for both apps alike), and each worker's loaded app frozen out of the
garbage collector's passes.

Load comes from wrk (``bench/answer.lua``, see ``bench/wrk_load.py``): ``--clients``
connections, one per wrk thread, each walking its own sessions as fast as it can (a closed
loop): it posts the answer form's ``revision`` and ``csrf_token`` parsed from the previous
response and takes its next session at the end step. wrk is C; its CPU per request is a small
fraction of the Python client's, so the rate ratio is the server's, not the client's. Sessions
are opened before each timed slice by Python clients (``GET /flows/<id>``, POST its Start form,
303, ``GET /s/<sid>/0``), not counted and not timed; if a connection runs out of them anyway,
it is reported and its further requests are not counted (their time is). (c)'s answer
clients are still this process's Python threads (it measures their latency, per answer).

Each measurement first runs an untimed ``--warmup``, then its ``--duration`` seconds of timed
load (at most ``MAX_REQUESTS`` answers) in ``--slices`` slices; the slices of the four
measurements are interleaved, so a change in whatever else the machine runs affects all of them
alike. requests/s = answers counted ÷ the summed wall time of the slices, each from the
common start of its clients until the last one's last response. The CPU used during the slices
is printed, in cores, for this client, the gunicorn workers and everything else on the machine
(from /proc; a busy "other" means the figures are disturbed).

(c)
---
The same real-app server (its settings make no difference to (a) and (b), which start no probe
session) is started with ``CONNECTIONS_PATH`` naming a generated config of ``--connections``
(12) QuickBooks Desktop connections, each with its own agent endpoint on the vendor simulator
(``assistant.simulator``, served by ``bench/probe_bench.py`` in a subprocess on 127.0.0.1, so
its threads do not share the clients' GIL), read timeout 5 s; ``PROBE_TTL_SECONDS=1``, so a
connection's check is claimed again one second after the last one; the default
``PROBE_WORKERS`` (4 per process, 8 in all: fewer than the connections, so when they all hang
the pools are full and checks queue); and a generated flow ``bench-probe`` whose first step is
the probe ``quickbooks_desktop.agent`` (``connected`` → a resolved end, ``otherwise`` → an
unresolved one).

Two answer measurements, like (a)'s real-app one (``--clients`` closed-loop answer clients
with their own sessions), run while *probe clients* wait at probe steps: one probe client per
connection (so every connection always has a customer waiting and is re-checked as soon as the
TTL allows), each starting a ``bench-probe`` session on its connection
(its Start form posted with a launch token for ``<cid>``) and asking again as the page's htmx
poller does
(a POST of the step's ``#probe-wait`` form with ``HX-Request: true``) ``--poll`` seconds (1,
the template's ``hx-trigger="load delay:1s"``) after each answer, until the answer is an end
step; then, ``--poll`` seconds later, the next customer starts. Real browsers' pace, not a
faster one: the question is whether hung checks hurt ordinary answers, not how many polls the
server takes (polls are plain requests, the same in both conditions). The two differ only in
the simulator's scenario for every probe connection: ``healthy`` (checks answer in
milliseconds, sessions go to the connected end) or ``hung`` (every check waits for its 5 s read
timeout; sessions go on by the ``timeout`` outcome to the manual end).

Every (c) slice sets the scenario, starts the probe clients, waits a settling time, then runs
the answer slice, then stops the probe clients. Settling (untimed, not counted): healthy 2 s
(one TTL for the last results to expire, a second for every connection to be checked anew);
hung 7 s (the same plus the 5 s read timeout, so the timed slice sees the steady state: hung
checks timing out, their sessions going on by the ``timeout`` outcome, new checks claimed and
hanging, more checks than pool threads; not just the first wave of hung calls). After a hung
slice every connection goes back to ``healthy`` and the simulator releases the calls still
hanging (a bench-only route that sets its ``STOP``), so no hung check outlives its slice into
the next one. The two conditions' slices are interleaved with (a)'s and (b)'s. Only answers
count; p50/p99 are over every counted answer of all the condition's slices. Beside the
ratio: per condition, over its timed slices, the probe sessions, how they ended, the polls and
their p99, and the upstream calls the simulator received, so a run where the probes did not
actually run (or did not hang) shows. When (a) runs too, its real-app answers are the same load
without any probe client: their p99 is printed as the baseline of both conditions (info).

Why the ratio can be below 1: a healthy check costs the app's worker CPU (a new
``httpx.Client`` per check builds an SSL context, ~17 ms of CPU, then the call, the diagnosis
and its writes) about every second per connection, while a hung one costs nothing while it
waits and runs only every TTL + read timeout. The "none" baseline shows what the probe traffic
itself costs ordinary answers.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import analytics_bench
import httpx
import probe_bench
from wrk_load import WrkMeasurement

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BIN = Path(sys.executable).parent
TARGET_A = 0.8  # htmx answers ÷ bare renders, by rate
TARGET_A_CPU = 0.6  # the same by server CPU per request (bare ms ÷ answer ms)
TARGET_NOJS = 0.5  # no-JS cycles (POST, 303, GET) ÷ bare renders, by rate
TARGET_B = 0.95
TARGET_PG = 1.5  # answers/s, PostgreSQL with --postgres workers ÷ SQLite with 2
TARGET_C = 1.5  # p99 latency ratio: at most
PROBE_READ_TIMEOUT = 5.0  # seconds, the probe connections' read timeout
PROBE_TTL = 1  # PROBE_TTL_SECONDS: checks are claimed again every second
# (c): seconds of probe load before each timed slice. Healthy: the last results expire (TTL)
# and every connection is checked anew. Hung: the first hung checks also reach their read
# timeout, so the slice sees the steady state (checks timing out, sessions going on by the
# timeout outcome, new checks claimed and hanging), not only the first wave of hung calls.
SETTLE = {"healthy": PROBE_TTL + 1.0, "hung": PROBE_TTL + 1.0 + PROBE_READ_TIMEOUT}
MAX_REQUESTS = 200_000  # per measurement, whatever the duration
MAX_ERRORS = 20  # per client: stop the client after this many failed requests
ANSWER_ID = "next"
SMALL, LARGE = "bench-10", "bench-1000"
FLOWS = {SMALL: 10, LARGE: 1000}  # flow id: number of steps
# Like a real session id (secrets.token_urlsafe(16)): one of repeated letters would make its
# form token compressible, which itsdangerous then compresses (zlib work a real one skips).
BARE_SID = "kV3tT9xq2LwZ8rB1mN5yHc"

FORM = re.compile(r'<form class="answers" method="post" action="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REVISION = re.compile(r'name="revision" value="(\d+)"')
ANSWER = re.compile(r'name="answer" value="([^"]+)"')


# --- flows ------------------------------------------------------------------------------------

def flow_yaml(flow_id: str, steps: int) -> str:
    """A linear flow of ``steps`` steps: ``steps - 1`` instructions, then a resolved end."""
    lines = [
        f"id: {flow_id}",
        f"title: Benchmark flow with {steps} steps",
        "system: benchmark",
        "summary: A generated linear flow for the benchmark.",
        "source:",
        "  title: Generated by bench/bench.py",
        "start: step-1",
        "steps:",
    ]
    for i in range(1, steps):
        to = f"step-{i + 1}" if i + 1 < steps else "done"
        lines += [
            f"  step-{i}:",
            "    kind: instruction",
            f"    title: Step {i} of the benchmark flow",
            "    body: |",
            f"      Open the **Channels** page and check item {i}. If it is not there, wait a",
            "      minute and reload the page.",
            "    answers:",
            f"      - id: {ANSWER_ID}",
            "        label: Done, next step",
            f"        next: {to}",
        ]
    lines += [
        "  done:",
        "    kind: end",
        "    outcome: resolved",
        "    title: All done",
        "    body: Every step of the benchmark flow was answered.",
    ]
    return "\n".join(lines) + "\n"


# --- servers ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU time of these processes, from /proc (None if unavailable)."""
    total = 0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return None
    return total / os.sysconf("SC_CLK_TCK")


class Server:
    """``gunicorn -c python:assistant.gunicorn_conf -w WORKERS -b 127.0.0.1:PORT APP`` as a
    subprocess (2 workers unless told): the production settings, the same for every app."""

    def __init__(self, name: str, app: str, env: dict, logdir: Path, workers: int = 2):
        self.name = name
        self.workers_wanted = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = logdir / f"gunicorn-{name}.log"
        self.log = open(self.log_path, "wb")  # closed in stop()
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "python:assistant.gunicorn_conf", "-w", str(workers),
             "-b", f"127.0.0.1:{self.port}", app],
            cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until every worker is up and the server answers HTTP."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: gunicorn exited ({self.proc.returncode})\n"
                                   + self.log_tail())
            if len(self.workers()) >= self.workers_wanted:
                try:
                    httpx.get(self.url + "/ready", timeout=5)  # any answer will do
                    return
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: gunicorn did not answer in {timeout:.0f} s\n"
                           + self.log_tail())

    def workers(self) -> list[int]:
        return _children(self.proc.pid)

    def cpu_seconds(self) -> float | None:
        return _cpu_seconds(self.workers())

    def logged_errors(self) -> bool:
        """True if the log shows a traceback or an error line."""
        self.log.flush()
        text = self.log_path.read_text(errors="replace")
        return "Traceback" in text or "[ERROR]" in text

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        """SIGTERM (graceful shutdown), then SIGKILL after 15 s; this process only."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- clients ----------------------------------------------------------------------------------

@dataclass
class Form:
    """The answer form of a step: where to post and what to send."""

    url: str
    csrf: str
    revision: str
    answer: str

    @property
    def n(self) -> int:
        return int(self.url.rsplit("/", 1)[1])


def parse_form(html: str) -> Form | None:
    """The answer form in a page or fragment; None at an end step (it has no answers)."""
    form = FORM.search(html)
    if form is None:
        return None
    rest = html[form.end():]
    csrf, revision, answer = CSRF.search(rest), REVISION.search(rest), ANSWER.search(rest)
    if not (csrf and revision and answer):
        raise ValueError("answer form without csrf_token, revision or answer")
    return Form(form.group(1), csrf.group(1), revision.group(1), answer.group(1))


@dataclass
class Tally:
    """What one client did: in the warm-up, or summed over a measurement's timed slices."""

    requests: int = 0
    latencies: list[float] = field(default_factory=list)
    positions: int = 0  # sum of the positions answered
    max_position: int = 0
    errors: list[str] = field(default_factory=list)
    inline_starts: int = 0


class Client:
    """One load-generating thread's HTTP client, cookies and sessions.

    ``bare``: the target is bare_app, which has no sessions: a "session" is the position 0 of
    a made-up session id, and the form fields it sends are ignored by the server.
    """

    def __init__(self, base_url: str, flow_id: str, bare: bool, max_answers: int | None):
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.flow_id = flow_id
        self.bare = bare
        self.max_answers = max_answers
        self.pool: deque[Form] = deque()
        self.form: Form | None = None
        self.answered = 0
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def start_session(self) -> Form:
        """A new session at position 0 (real app: the start page, its POST, 303, GET
        /s/<sid>/0)."""
        if self.bare:
            return Form(f"/s/{BARE_SID}/0", self.csrf, "0", ANSWER_ID)
        response = probe_bench.start_session(self.http, self.flow_id)
        if response.status_code != 200 or not response.history:
            raise RuntimeError(f"starting a session of {self.flow_id}: {response.status_code}")
        form = parse_form(response.text)
        if form is None or form.n != 0:
            raise RuntimeError(f"no answer form at position 0 of {self.flow_id}")
        return form

    def fill_pool(self, sessions: int) -> None:
        self.pool.extend(self.start_session() for _ in range(sessions))

    def run(self, tally: Tally, seconds: float, max_requests: int, use_pool: bool) -> None:
        """Answer in a closed loop for ``seconds`` or ``max_requests`` answers."""
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and tally.requests < max_requests:
            if self.form is None or (self.max_answers and self.answered >= self.max_answers):
                if use_pool and self.pool:
                    self.form = self.pool.popleft()
                else:
                    tally.inline_starts += 1 if use_pool else 0
                    self.form = self.start_session()
                self.answered = 0
            form = self.form
            started = time.perf_counter()
            try:
                response = self.http.post(
                    form.url, headers={"HX-Request": "true"},
                    data={"answer": form.answer, "revision": form.revision,
                          "csrf_token": form.csrf})
            except httpx.HTTPError as e:
                response, error = None, f"{type(e).__name__}: {e}"
            elapsed = time.perf_counter() - started
            if response is not None:
                error = self._check(response, form)
            if error:
                tally.errors.append(error)
                self.form = None
                if len(tally.errors) >= MAX_ERRORS:
                    return
                continue
            tally.requests += 1
            tally.latencies.append(elapsed)
            tally.positions += form.n
            tally.max_position = max(tally.max_position, form.n)
            self.answered += 1

    def _check(self, response: httpx.Response, form: Form) -> str | None:
        """None if the response is the next step's fragment; else what is wrong. Sets
        ``self.form`` to the next form (None at the end)."""
        push = response.headers.get("HX-Push-Url", "")
        if response.status_code != 200 or not push.endswith(f"/{form.n + 1}"):
            snippet = " ".join(response.text[:200].split())
            return f"{form.url}: {response.status_code} push={push!r} {snippet}"
        if "<html" in response.text[:500]:
            return f"{form.url}: a full page instead of the #step fragment"
        try:
            self.form = parse_form(response.text)
        except ValueError as e:
            return f"{form.url}: {e}"
        if self.form is not None:
            self.csrf = self.form.csrf
        return None


def _machine_busy_seconds() -> float | None:
    """CPU time used by the whole machine so far (all cores), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _phase(clients: list[Client], tallies: list[Tally], seconds: float, use_pool: bool
           ) -> float:
    """Run every client for ``seconds`` in its own thread, adding to ``tallies``; the wall time
    from the common start until the last client's last response."""
    barrier = threading.Barrier(len(clients) + 1)
    failures: list[BaseException] = []

    def work(client: Client, tally: Tally) -> None:
        barrier.wait()
        try:
            client.run(tally, seconds, MAX_REQUESTS // len(clients), use_pool)
        except Exception as e:  # reported below; the other clients go on
            failures.append(e)

    threads = [threading.Thread(target=work, args=pair, daemon=True)
               for pair in zip(clients, tallies, strict=True)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"a client failed: {failures[0]!r}") from failures[0]
    return wall


def _in_parallel(clients: list[Client], fn) -> None:
    """Call ``fn(client)`` for every client at once (untimed set-up work)."""
    failures: list[BaseException] = []

    def call(client: Client) -> None:
        try:
            fn(client)
        except Exception as e:
            failures.append(e)

    threads = [threading.Thread(target=call, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"set-up failed: {failures[0]!r}") from failures[0]


class Measurement:
    """One measured load: its clients, and the tallies and CPU of its timed slices.

    The timed window of a measurement may be cut into slices run at different times (the
    measurements are interleaved so that a change in the machine's other load hits them all
    alike); the clients and their sessions carry on from one slice to the next.
    """

    def __init__(self, name: str, server: Server, flow_id: str, flow_steps: int, *,
                 clients: int, bare: bool = False, max_answers: int | None = None):
        self.name = name
        self.server = server
        self.bare = bare
        self.clients = [Client(server.url, flow_id, bare, max_answers) for _ in range(clients)]
        self.tallies = [Tally() for _ in range(clients)]
        self.per_session = min(max_answers or flow_steps, flow_steps - 1)
        self.seconds = 0.0
        self.cpu = {"client": 0.0, "server": 0.0, "other": 0.0}
        self.cpu_known = True
        self.rate_hint = 0.0

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def warm_up(self, seconds: float) -> None:
        """Answer for ``seconds``, uncounted; the timed slices start new sessions."""
        tallies = [Tally() for _ in self.clients]
        wall = _phase(self.clients, tallies, seconds, use_pool=False)
        errors = [e for t in tallies for e in t.errors]
        if errors or not any(t.requests for t in tallies):
            raise RuntimeError(f"{self.name}: warm-up failed: {errors[:3]}")
        self.rate_hint = sum(t.requests for t in tallies) / wall
        for client in self.clients:
            client.form = None

    def run_slice(self, seconds: float) -> None:
        """Open the sessions the slice will need (untimed), then answer for ``seconds``."""
        if not self.bare:
            per_client = self.rate_hint * seconds / len(self.clients) * 2  # with a margin
            wanted = min(5_000, math.ceil(per_client / self.per_session) + 1)
            _in_parallel(self.clients, lambda c: c.fill_pool(max(0, wanted - len(c.pool))))
        before = self._cpu_now()
        done = sum(t.requests for t in self.tallies)
        wall = _phase(self.clients, self.tallies, seconds, use_pool=not self.bare)
        after = self._cpu_now()
        self.seconds += wall
        self.rate_hint = (sum(t.requests for t in self.tallies) - done) / wall
        if None in before.values() or None in after.values():
            self.cpu_known = False
            return
        used = {k: after[k] - before[k] for k in before}
        self.cpu["client"] += used["client"]
        self.cpu["server"] += used["server"]
        self.cpu["other"] += max(0.0, used["machine"] - used["client"] - used["server"])

    def _cpu_now(self) -> dict[str, float | None]:
        return {"client": time.process_time(), "server": self.server.cpu_seconds(),
                "machine": _machine_busy_seconds()}

    @property
    def requests(self) -> int:
        return sum(t.requests for t in self.tallies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> list[str]:
        return [e for t in self.tallies for e in t.errors]

    @property
    def inline_starts(self) -> int:
        return sum(t.inline_starts for t in self.tallies)

    def latency_ms(self, quantile: float | None = None) -> float:
        """Mean latency, or the given quantile, in milliseconds."""
        latencies = sorted(x for t in self.tallies for x in t.latencies)
        if not latencies:
            return math.nan
        if quantile is None:
            return 1000 * sum(latencies) / len(latencies)
        return 1000 * latencies[min(len(latencies) - 1, int(quantile * len(latencies)))]

    def positions(self) -> str:
        """The mean and the largest position answered."""
        if not self.requests:
            return "-"
        mean = sum(t.positions for t in self.tallies) / self.requests
        return f"{mean:.0f}/{max(t.max_position for t in self.tallies)}"

    def server_ms(self) -> float:
        """Server (gunicorn workers) CPU milliseconds per counted request."""
        if not self.cpu_known or not self.requests:
            return math.nan
        return 1000 * self.cpu["server"] / self.requests

    def cores(self) -> str:
        """CPU used during the timed slices, in cores: client, server, everything else."""
        if not self.cpu_known or not self.seconds:
            return "?"
        return "/".join(f"{self.cpu[k] / self.seconds:.2f}" for k in ("client", "server", "other"))


# --- report -----------------------------------------------------------------------------------

def print_table(measurements: list[Measurement]) -> None:
    header = (f"{'measurement':<47} {'requests':>8} {'seconds':>7} {'req/s':>7} {'mean ms':>7} "
              f"{'p95 ms':>6} {'position':>9} {'CPU cores':>14} {'server':>7}")
    print(header)
    print(f"{'':<47} {'':>8} {'':>7} {'':>7} {'':>7} {'':>6} {'mean/max':>9} "
          f"{'client/srv/oth':>14} {'ms/req':>7}")
    print("-" * len(header))
    for m in measurements:
        print(f"{m.name:<47} {m.requests:>8} {m.seconds:>7.2f} {m.rate:>7.1f} "
              f"{m.latency_ms():>7.2f} {m.latency_ms(0.95):>6.2f} {m.positions():>9} "
              f"{m.cores():>14} {m.server_ms():>7.2f}")
    for m in measurements:
        if getattr(m, "ran_out", 0):
            print(f"note: {m.name}: wrk ran out of sessions {m.ran_out} time(s): that "
                  "connection's further requests were not counted, their time is")
        if m.inline_starts:
            print(f"note: {m.name}: {m.inline_starts} session(s) started inside the timed window "
                  "(the pool ran out): their requests are not counted, their time is")
        if m.errors:
            print(f"ERRORS: {m.name}: {len(m.errors)} failed request(s), first: {m.errors[0]}")


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def ratio_line(label: str, num, den, target: float) -> str:
    value = _ratio(num.rate, den.rate)
    verdict = "" if value >= target else "  MISSED"
    if num.errors or den.errors:
        verdict += "  (INVALID: failed requests, see above)"
    return f"{label}: {value:.2f}  (target ≥ {target}){verdict}"


def cpu_line(label: str, num, den, target: float) -> str:
    """The ratio of server CPU per request, bare ÷ ``num`` (higher is better, like the rate)."""
    value = _ratio(den.server_ms(), num.server_ms())
    verdict = "" if value >= target else "  MISSED"
    return f"{label}, by server CPU per request: {value:.2f}  (target ≥ {target}){verdict}"


def probe_lines(without: probe_bench.ProbeCondition, hung: probe_bench.ProbeCondition,
                no_probes: Measurement | None) -> list[str]:
    """(c): the p99 ratio with its target, both conditions' p50/p99 and answer counts, and what
    the probe clients did in each; with ``no_probes`` (the same answers without probe clients,
    (a)'s real-app measurement) the cost of the probe traffic itself, for information."""
    p99_without, p99_hung = without.latency_ms(0.99), hung.latency_ms(0.99)
    value = _ratio(p99_hung, p99_without)
    verdict = "" if value <= TARGET_C else "  MISSED"
    if without.measurement.errors or hung.measurement.errors:
        verdict += "  (INVALID: failed requests, see above)"
    if without.stats.errors or hung.stats.errors:
        verdict += "  (INVALID: failed probe requests, see below)"
    lines = [f"(c) answer p99, probe upstream hung ÷ healthy: {value:.2f}  "
             f"(target ≤ {TARGET_C}){verdict}"]
    for label, c in (("healthy", without), ("hung", hung)):
        st = c.stats
        lines.append(
            f"    {label:<7}: answers p50 {c.latency_ms(0.5):.2f} ms, p99 "
            f"{c.latency_ms(0.99):.2f} ms, over {c.measurement.requests} answers; probe "
            f"clients: {st.sessions} sessions started, {st.connected} ended connected and "
            f"{st.manual} by hand (some started before the slice), "
            f"{st.polls} polls (p99 {st.poll_ms(0.99):.1f} ms), {st.upstream_calls} upstream "
            f"calls in {st.seconds:.0f} s; upstream calls in flight at each timed slice's "
            f"start→end: {', '.join(f'{a}→{b}' for a, b in st.in_flight)}")
        if st.errors:
            lines.append(f"    ERRORS: {label} probe clients: {len(st.errors)} failed "
                         f"request(s), first: {st.errors[0]}")
    if no_probes is not None:
        base = no_probes.latency_ms(0.99)
        lines.append(f"    info: without probe clients: answers p50 "
                     f"{no_probes.latency_ms(0.5):.2f} ms, p99 {base:.2f} ms; p99 healthy ÷ "
                     f"none {_ratio(p99_without, base):.2f}, "
                     f"hung ÷ none {_ratio(p99_hung, base):.2f}")
    return lines


# --- main -------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=8.0,
                        help="timed seconds per measurement (default 8)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="untimed seconds before each measurement (default 2)")
    parser.add_argument("--slices", type=int, default=4,
                        help="interleave the measurements in this many slices (default 4)")
    parser.add_argument("--only", default="a,b,c,d",
                        help="the figures to measure, e.g. 'd' or 'a,b' (default a,b,c,d)")
    parser.add_argument("--connections", type=int, default=12,
                        help="(c): probe connections, one probe client each (default 12)")
    parser.add_argument("--poll", type=float, default=1.0,
                        help="(c): seconds between a probe client's requests (default 1)")
    parser.add_argument("--events", type=int, default=analytics_bench.EVENTS,
                        help=f"(d): events to seed (default {analytics_bench.EVENTS:,})")
    parser.add_argument("--runs", type=int, default=5,
                        help="(d): timed runs per analytics view (default 5)")
    parser.add_argument("--postgres", type=int, default=0, metavar="WORKERS",
                        help="(a), (b): also measure the app on PostgreSQL (a throwaway server "
                             "of Debian's postgresql, as the tests start) with this many "
                             "gunicorn workers, beside a bare app with as many, in the same "
                             "run (default 0: SQLite only)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.clients < 1 or args.slices < 1:
        parser.error("--duration must be > 0, --warmup ≥ 0, --clients and --slices ≥ 1")
    only = {x.strip() for x in args.only.replace(",", " ").split()}
    if not only or only - {"a", "b", "c", "d"}:
        parser.error("--only takes a, b, c and d, e.g. --only d or --only a,b")
    if args.connections < 1 or args.poll <= 0:
        parser.error("--connections must be ≥ 1, --poll > 0")
    if args.events < 1 or args.runs < 1:
        parser.error("--events and --runs must be ≥ 1")
    if only & {"a", "b"} and shutil.which("wrk") is None:
        parser.error("(a) and (b) need wrk on PATH: run `make bench` (it installs Debian's "
                     "wrk), or `apt-get install wrk`")
    if only - {"d"}:
        measure_answers(args, only)
    if "d" in only:  # last: in this process, with the servers of (a) to (c) gone
        if only - {"d"}:
            print()
        for line in analytics_bench.run(args.events, args.runs):
            print(line)
    return 0


def measure_answers(args, only: set[str]) -> None:
    """Measurements (a) to (c) (those in ``only``): start the servers, load them, print."""
    tmp = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    servers: list[Server] = []
    measurements: list[Measurement] = []
    conditions: list[probe_bench.ProbeCondition] = []
    simulator: probe_bench.Simulator | None = None
    load: probe_bench.ProbeLoad | None = None
    postgres = None
    try:
        flows = tmp / "flows"
        flows.mkdir()
        for flow_id, steps in FLOWS.items():
            (flows / f"{flow_id}.yaml").write_text(flow_yaml(flow_id, steps))
        (flows / f"{probe_bench.PROBE_FLOW}.yaml").write_text(probe_bench.probe_flow_yaml())
        connection_ids = probe_bench.connection_ids(args.connections)
        if "c" in only:
            simulator = probe_bench.Simulator(free_port(), PROBE_READ_TIMEOUT + 1,
                                              tmp / "simulator.log")
        connections = tmp / "connections.yaml"
        connections.write_text(probe_bench.connections_yaml(
            simulator.url if simulator else "http://127.0.0.1:9", args.connections,
            PROBE_READ_TIMEOUT))
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}",
                   FLOWS_PATH=str(flows), SECRET_KEY=secrets.token_hex(32),
                   LAUNCH_SECRET=secrets.token_urlsafe(32),
                   BENCH_BARE_FLOW=SMALL, CONNECTIONS_PATH=str(connections),
                   PROBE_TTL_SECONDS=str(PROBE_TTL),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(BENCH),
                                                            os.environ.get("PYTHONPATH")])))
        env[probe_bench.API_KEY_ENV] = probe_bench.API_KEY
        env.pop("PROBE_WORKERS", None)  # the default pool, whatever this shell says
        subprocess.run([str(BIN / "assistant"), "db", "upgrade"], cwd=REPO, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        real = Server("real", "assistant.web:create_app()", env, tmp)
        servers.append(real)
        if "a" in only:
            bare = Server("bare", "bare_app:create_app()", env, tmp)
            servers.append(bare)
        pg_real = pg_bare = None
        if args.postgres and only & {"a", "b"}:
            sys.path.insert(0, str(REPO / "tests"))
            from pgserver import PostgresServer
            postgres = PostgresServer().start()
            pg_env = dict(env, DATABASE_URL=postgres.url(postgres.create_database()))
            subprocess.run([str(BIN / "assistant"), "db", "upgrade"], cwd=REPO, env=pg_env,
                           check=True, stdout=subprocess.DEVNULL)
            pg_real = Server("real-postgresql", "assistant.web:create_app()", pg_env, tmp,
                             workers=args.postgres)
            pg_bare = Server("bare-postgresql", "bare_app:create_app()", pg_env, tmp,
                             workers=args.postgres)
            servers += [pg_real, pg_bare]
        for server in servers:
            server.wait_ready()
        if simulator is not None:
            simulator.wait_ready()

        print(f"gunicorn -c python:assistant.gunicorn_conf -w 2 (sync workers), the same for "
              f"both apps; (a), (b): wrk, "
              f"{args.clients} connections (one per wrk thread); (c): {args.clients} Python "
              f"client threads; {args.warmup:g} s warm-up, then {args.duration:g} s timed per "
              f"measurement in {args.slices} interleaved slice(s); {os.cpu_count()} CPUs "
              "shared by servers, client and whatever else runs")
        print("Counted: answer POSTs only (session starts are not counted: each client opens "
              "its sessions before each timed slice).")
        if simulator is not None:
            print(f"(c): {args.connections} probe connections, one probe client each polling "
                  f"every {args.poll:g} s; PROBE_TTL_SECONDS={PROBE_TTL}, read timeout "
                  f"{PROBE_READ_TIMEOUT:g} s; {SETTLE['healthy']:g} s (healthy) or "
                  f"{SETTLE['hung']:g} s (hung) of probe load before each timed slice.")
        print()
        common = {"clients": args.clients}
        by_name: dict[str, WrkMeasurement] = {}

        def wrk(name, server, mode, flow_id, max_answers=0):
            clients = [Client(server.url, flow_id, mode == "bare", None)
                       for _ in range(args.clients)]
            per_session = min(max_answers or FLOWS[flow_id], FLOWS[flow_id] - 1)
            return WrkMeasurement(name, server, mode, clients, per_session, max_answers)

        if "a" in only:
            by_name["bare"] = wrk(f"bare render, {FLOWS[SMALL]}-step flow fragments", bare,
                                  "bare", SMALL)
        if only & {"a", "b"}:
            by_name["small"] = wrk(f"answer (htmx), {FLOWS[SMALL]}-step flow", real, "htmx",
                                   SMALL)
        if "a" in only:
            by_name["nojs"] = wrk(f"no-JS cycle (POST, 303, GET), {FLOWS[SMALL]}-step flow",
                                  real, "nojs", SMALL)
        if "b" in only:
            by_name["large"] = wrk(f"answer (htmx), {FLOWS[LARGE]}-step flow", real, "htmx",
                                   LARGE)
            by_name["large_short"] = wrk(
                f"answer, {FLOWS[LARGE]}-step flow, first {FLOWS[SMALL] - 1} answers (info)",
                real, "htmx", LARGE, max_answers=FLOWS[SMALL] - 1)
        if pg_real is not None:
            w = args.postgres
            by_name["pg_bare"] = wrk(f"bare render, {FLOWS[SMALL]}-step flow fragments, -w {w}",
                                     pg_bare, "bare", SMALL)
            by_name["pg_small"] = wrk(f"answer, {FLOWS[SMALL]}-step flow, PostgreSQL -w {w}",
                                      pg_real, "htmx", SMALL)
            by_name["pg_large"] = wrk(f"answer, {FLOWS[LARGE]}-step flow, PostgreSQL -w {w}",
                                      pg_real, "htmx", LARGE)
        measurements += by_name.values()
        if simulator is not None:
            load = probe_bench.ProbeLoad(real.url, connection_ids, args.poll,
                                         env["LAUNCH_SECRET"])
            for scenario in ("healthy", "hung"):
                m = Measurement(f"answer, {FLOWS[SMALL]}-step flow, probe upstream {scenario}",
                                real, SMALL, FLOWS[SMALL], **common)
                measurements.append(m)
                conditions.append(probe_bench.ProbeCondition(
                    m, scenario, load, simulator, connection_ids, SETTLE[scenario]))
        runs = [*by_name.values(), *conditions]
        if args.warmup:
            for run in runs:
                run.warm_up(args.warmup)
        for _ in range(args.slices):
            for run in runs:
                run.run_slice(args.duration / args.slices)
        print_table(measurements)
        print()
        if "a" in only:
            bare_render, small, nojs = by_name["bare"], by_name["small"], by_name["nojs"]
            print(ratio_line("(a) htmx answer ÷ bare render", small, bare_render, TARGET_A))
            print(cpu_line("(a) htmx answer ÷ bare render", small, bare_render, TARGET_A_CPU))
            print(ratio_line("(a) no-JS cycle ÷ bare render", nojs, bare_render, TARGET_NOJS))
            print(cpu_line("(a) no-JS cycle ÷ bare render", nojs, bare_render, TARGET_NOJS))
        if "b" in only:
            small, large, large_short = by_name["small"], by_name["large"], by_name["large_short"]
            print(ratio_line(f"(b) {FLOWS[LARGE]}-step ÷ {FLOWS[SMALL]}-step", large, small,
                             TARGET_B))
            print(f"    info: {FLOWS[LARGE]}-step flow restarted after {FLOWS[SMALL] - 1} "
                  f"answers ÷ {FLOWS[SMALL]}-step: {_ratio(large_short.rate, small.rate):.2f}")
        if pg_real is not None:
            pg_bare_m, pg_small, pg_large = (by_name["pg_bare"], by_name["pg_small"],
                                             by_name["pg_large"])
            print(ratio_line(f"(a) PostgreSQL -w {args.postgres}: answer ÷ bare render",
                             pg_small, pg_bare_m, TARGET_A))
            print(cpu_line(f"(a) PostgreSQL -w {args.postgres}: answer ÷ bare render",
                           pg_small, pg_bare_m, TARGET_A_CPU))
            print(ratio_line(f"(b) PostgreSQL -w {args.postgres}: {FLOWS[LARGE]}-step ÷ "
                             f"{FLOWS[SMALL]}-step", pg_large, pg_small, TARGET_B))
            if "small" in by_name:
                print(ratio_line(f"PostgreSQL -w {args.postgres} ÷ SQLite -w 2, answers/s",
                                 pg_small, by_name["small"], TARGET_PG))
        if conditions:
            for line in probe_lines(*conditions, None):
                print(line)
        for server in servers:
            if server.logged_errors():
                print(f"\nERRORS in the {server.name} app's gunicorn log:\n{server.log_tail()}")
    finally:
        if load is not None:
            load.stop()
            load.close()
        if simulator is not None:  # first: a check still waiting on it returns at once
            simulator.stop()
        for m in measurements:
            m.close()
        for server in servers:
            server.stop()
        if postgres is not None:
            postgres.remove()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
