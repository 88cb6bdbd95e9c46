"""Gunicorn settings for production (``gunicorn -c python:assistant.gunicorn_conf -w 4 -b
0.0.0.0:8000 'assistant.web:create_app()'``); command-line options still override them.

- Session ids are cut out of the access and error logs (:mod:`assistant.logs`).
- Gunicorn trusts no ``X-Forwarded-*`` header: behind a proxy the app does, as configured by
  ``TRUSTED_PROXIES`` (Werkzeug's ProxyFix), and nowhere else. (Gunicorn's own default trusts
  them from 127.0.0.1.)
"""

logger_class = "assistant.logs.GunicornLogger"
forwarded_allow_ips = ""
