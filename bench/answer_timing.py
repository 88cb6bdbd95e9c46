"""In-process timing of an answer: the real app through Flask's test client (no server, no
network, no client of its own to share the CPU with), on a new SQLite file and bench.py's
generated 10-step flow.

Run from the repository root: ``.venv/bin/python bench/answer_timing.py [--answers N]``.
Prints the CPU milliseconds (this process's ``time.process_time``) per htmx answer, per no-JS
cycle (POST, 303, GET) and per bare render of the same fragment (``bench/bare_app.py`` in the
same process), the best of ``--rounds`` rounds each. For comparing one change with the next
on this machine, not a target: bench.py gives the figures with a server.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from probe_bench import START_CSRF  # noqa: E402

from bench import ANSWER_ID, BARE_SID, FLOWS, SMALL, flow_yaml, parse_form  # noqa: E402


def _walk(client, start: dict, answers: int, htmx: bool) -> float:
    """CPU seconds for ``answers`` answers, starting new sessions (untimed) at each end."""
    used = 0.0
    form = None
    done = 0
    while done < answers:
        if form is None:
            page = client.post(f"/flows/{SMALL}", data=start)
            form = parse_form(client.get(page.headers["Location"]).get_data(as_text=True))
        data = {"answer": form.answer, "revision": form.revision, "csrf_token": form.csrf}
        started = time.process_time()
        if htmx:
            response = client.post(form.url, data=data, headers={"HX-Request": "true"})
        else:
            response = client.post(form.url, data=data)
            response = client.get(response.headers["Location"])
        used += time.process_time() - started
        assert response.status_code == 200, response.status_code
        form = parse_form(response.get_data(as_text=True))
        done += 1
    return used


def _bare(client, answers: int) -> float:
    started = time.process_time()
    n = 0
    for _ in range(answers):
        response = client.post(f"/s/{BARE_SID}/{n}", data={"answer": ANSWER_ID},
                               headers={"HX-Request": "true"})
        assert response.status_code == 200
        n = (n + 1) % (FLOWS[SMALL] - 1)
    return time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--answers", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="answer-timing-"))
    (tmp / "flows").mkdir()
    (tmp / "flows" / f"{SMALL}.yaml").write_text(flow_yaml(SMALL, FLOWS[SMALL]))
    os.environ.update(DATABASE_URL=f"sqlite:///{tmp / 'a.db'}", FLOWS_PATH=str(tmp / "flows"),
                      SECRET_KEY=secrets.token_hex(32), BENCH_BARE_FLOW=SMALL,
                      INSTANCE_PATH=str(tmp))
    from bare_app import create_app as create_bare

    from assistant.store import upgrade
    from assistant.web import create_app
    upgrade(os.environ["DATABASE_URL"])
    app, bare = create_app(), create_bare()
    client, bare_client = app.test_client(), bare.test_client()
    start = {"csrf_token": START_CSRF.search(
        client.get(f"/flows/{SMALL}").get_data(as_text=True)).group(1)}
    _walk(client, start, 50, True)  # warm up
    _bare(bare_client, 50)
    results = {"htmx answer": [], "no-JS cycle": [], "bare render": []}
    for _ in range(args.rounds):
        results["htmx answer"].append(_walk(client, start, args.answers, True))
        results["no-JS cycle"].append(_walk(client, start, args.answers, False))
        results["bare render"].append(_bare(bare_client, args.answers))
    best = {k: 1000 * min(v) / args.answers for k, v in results.items()}
    for name, ms in best.items():
        print(f"{name:<12} {ms:6.3f} ms CPU each (best of {args.rounds} × {args.answers})")
    print(f"bare ÷ htmx answer {best['bare render'] / best['htmx answer']:.2f}, "
          f"bare ÷ no-JS cycle {best['bare render'] / best['no-JS cycle']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
