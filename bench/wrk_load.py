"""bench.py's load for (a) and (b): wrk (Debian's ``wrk``, a C client with LuaJIT) running
``answer.lua``, one connection per wrk thread, each walking its own sessions.

Sessions are opened beforehand by Python clients (untimed, not counted) and handed to wrk in
one file per thread; wrk reports the answers (htmx and bare: fragments; no-JS: POST → 303 →
GET cycles) it counted, the failed ones, the sessions each thread took and whether any ran out
of sessions (then its extra requests are not counted, but its time is: reported as a note).
The server's CPU is read from /proc before and after each run; wrk's own from its rusage.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPT = BENCH / "answer.lua"


class WrkMeasurement:
    """One measured load under wrk: its sessions (one pool per connection) and what its timed
    slices counted. ``mode``: ``htmx``, ``nojs`` or ``bare`` (see answer.lua); ``clients``:
    bench.Client objects, used only to open sessions and, for bare, to name its one URL."""

    def __init__(self, name: str, server, mode: str, clients: list, per_session: int,
                 max_answers: int = 0):
        self.name = name
        self.server = server
        self.mode = mode
        self.clients = clients
        self.per_session = per_session
        self.max_answers = max_answers
        self.requests = 0  # answers (or no-JS cycles) counted
        self.errors: list[str] = []
        self.seconds = 0.0
        self.cpu = {"client": 0.0, "server": 0.0, "other": 0.0}
        self.cpu_known = True
        self.rate_hint = 300.0  # answers/s, until measured
        self.ran_out = 0
        self.inline_starts = 0

    def close(self) -> None:
        for client in self.clients:
            client.close()

    # -- sessions --
    def _fill(self, seconds: float) -> None:
        if self.mode == "bare":
            return
        from bench import _in_parallel
        answers = self.rate_hint * seconds / len(self.clients) * 2 + 20  # with a margin
        wanted = min(5_000, math.ceil(answers / self.per_session) + 1)
        _in_parallel(self.clients, lambda c: c.fill_pool(max(0, wanted - len(c.pool))))

    def _write(self, folder: Path) -> None:
        for i, client in enumerate(self.clients, 1):
            forms = [client.start_session()] if self.mode == "bare" else list(client.pool)
            (folder / f"{i}.txt").write_text("".join(  # bare_app ignores the token
                f"{f.url} {f.revision} {f.csrf or '-'} {f.answer}\n" for f in forms))

    def _run(self, seconds: float) -> dict:
        """Run wrk for ``seconds``; its counts, with the CPU the server and wrk used."""
        from bench import _machine_busy_seconds
        with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
            self._write(Path(folder))
            n = str(len(self.clients))
            cmd = ["wrk", "-t", n, "-c", n, "-d", f"{max(1, round(seconds))}s",
                   "--timeout", "30s", "-s", str(SCRIPT), self.server.url, "--",
                   self.mode, folder, str(self.max_answers)]
            server_before, machine_before = self.server.cpu_seconds(), _machine_busy_seconds()
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            out = proc.stdout.read().decode(errors="replace")
            proc.stdout.close()
            proc.returncode = os.waitstatus_to_exitcode(status)
            server_after, machine_after = self.server.cpu_seconds(), _machine_busy_seconds()
        result = next((line.split()[1:] for line in out.splitlines()
                       if line.startswith("RESULT ")), None)
        taken = next((line.split()[1:] for line in out.splitlines()
                      if line.startswith("TAKEN ")), None)
        if proc.returncode != 0 or result is None or taken is None:
            raise RuntimeError(f"{self.name}: wrk failed ({proc.returncode}):\n{out[-2000:]}")
        counted, errors, _, ran_out, duration_us = (int(x) for x in result)
        if self.mode != "bare":
            for client, k in zip(self.clients, taken, strict=True):
                for _ in range(int(k)):  # taken sessions are walked (partly): drop them
                    client.pool.popleft()
        cpu = None
        if None not in (server_before, server_after, machine_before, machine_after):
            client_cpu = usage.ru_utime + usage.ru_stime
            server_cpu = server_after - server_before
            cpu = {"client": client_cpu, "server": server_cpu,
                   "other": max(0.0, machine_after - machine_before - client_cpu - server_cpu)}
        return {"counted": counted, "errors": errors, "ran_out": ran_out,
                "seconds": duration_us / 1e6 or wall, "cpu": cpu}

    def warm_up(self, seconds: float) -> None:
        self._fill(seconds)
        r = self._run(seconds)
        if r["errors"] or not r["counted"]:
            raise RuntimeError(f"{self.name}: warm-up failed: {r['errors']} errors, "
                               f"{r['counted']} counted")
        self.rate_hint = r["counted"] / r["seconds"]

    def run_slice(self, seconds: float) -> None:
        self._fill(seconds)
        r = self._run(seconds)
        self.requests += r["counted"]
        self.seconds += r["seconds"]
        self.ran_out += r["ran_out"]
        if r["errors"]:
            self.errors.append(f"{r['errors']} failed answer(s) in a slice (see the server log)")
        self.rate_hint = r["counted"] / r["seconds"] if r["seconds"] else self.rate_hint
        if r["cpu"] is None:
            self.cpu_known = False
        else:
            for k in self.cpu:
                self.cpu[k] += r["cpu"][k]

    # -- figures, as bench.Measurement's --
    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def latency_ms(self, quantile: float | None = None) -> float:
        return math.nan  # wrk's latencies mix requests of a cycle: not reported

    def positions(self) -> str:
        return "-"

    def server_ms(self) -> float:
        if not self.cpu_known or not self.requests:
            return math.nan
        return 1000 * self.cpu["server"] / self.requests

    def cores(self) -> str:
        if not self.cpu_known or not self.seconds:
            return "?"
        return "/".join(f"{self.cpu[k] / self.seconds:.2f}" for k in ("client", "server", "other"))
