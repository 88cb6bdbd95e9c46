"""Gunicorn settings for production (``gunicorn -c python:assistant.gunicorn_conf -w 4 -b
0.0.0.0:8000 'assistant.web:create_app()'``); command-line options still override them.

- Session ids are cut out of the access and error logs (:mod:`assistant.logs`).
- Gunicorn trusts no ``X-Forwarded-*`` header: behind a proxy the app does, as configured by
  ``TRUSTED_PROXIES`` (Werkzeug's ProxyFix), and nowhere else. (Gunicorn's own default trusts
  them from 127.0.0.1.)
- No control socket (``gunicornc``).
- Each worker freezes the objects of the loaded app out of the garbage collector's passes
  (:func:`post_worker_init`).
"""

logger_class = "assistant.logs.GunicornLogger"
forwarded_allow_ips = ""
# Gunicorn 25.1+ opens a control socket (for ``gunicornc``) at one path per user by default
# (~/.gunicorn/gunicorn.ctl): a second server on the host (a second app, a new deploy beside
# the old, the benchmark's four) fights over it ("Control server error" in the log). Nothing
# here uses it.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """Once the worker has loaded the app: collect, then freeze what is left (``gc.freeze``).

    The app's objects (flows, compiled templates, SQLAlchemy's tables and compiled
    statements, ~150,000 tracked objects) live as long as the worker, yet every full
    collection walked them all: ~75 ms, about once per few thousand answers, paid by the
    answer that happened to trigger it. Frozen, they are never walked again; what requests
    allocate is collected as before.
    """
    import gc
    gc.collect()
    gc.freeze()
