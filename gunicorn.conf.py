"""gunicorn's settings, read from the working directory by `gunicorn wsgi:app`.

Access log lines carry the request id (the X-Request-Id response header) and pass through the app's
log-record factory (server/http_safety.py), which masks tokens in URLs: QR image and transfer tokens,
WeChat's access_token. Override any of these on the command line.
"""

import gc
import os

#: On stdout; benchmarks (APP_ENV=bench) measure the app without it.
accesslog = None if os.environ.get("APP_ENV") == "bench" else "-"
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" request_id=%({x-request-id}o)s'


def post_worker_init(worker):
    """Objects built while loading the app (modules, mappers, compiled statements) live as long as the
    worker: frozen, the collector's full passes no longer walk them, which otherwise stall requests
    (p99 under a constant arrival rate)."""
    gc.freeze()
