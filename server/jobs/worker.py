"""``flask --app wsgi worker``: an RQ worker (with RQ's scheduler) on REDIS_URL, plus the periodic
scheduler thread. Run as many as you like, on as many machines: each job's effect happens once, and
each periodic slot is queued once."""

from __future__ import annotations

import logging

import click
import redis
from flask import Flask, current_app

from server.extensions import get_redis
from server.jobs.queue import QUEUE_NAME, EmbeddedQueue, get_queue
from server.jobs.schedule import PeriodicScheduler

logger = logging.getLogger(__name__)


def worker_connection(url: str) -> redis.Redis:
    """A connection for the worker: no socket timeout, since RQ blocks on Redis while waiting for jobs."""
    return redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def run_worker(app: Flask, *, burst: bool = False, schedule: bool = True) -> bool:
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    url = app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("REDIS_URL is not set: the embedded default runs jobs inside the server process")
    connection = worker_connection(url)
    scheduler = None
    if schedule and not burst:
        scheduler = PeriodicScheduler(get_redis(), get_queue())
        scheduler.start()
    # SimpleWorker: jobs run in this process, in the app context the CLI pushed (no fork, so the
    # database pool is never shared with a child).
    worker = SimpleWorker([QUEUE_NAME], connection=connection, serializer=JSONSerializer)
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        if scheduler is not None:
            scheduler.stop()


def register(app: Flask) -> None:
    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Run the jobs waiting now, then exit.")
    @click.option("--no-schedule", "no_schedule", is_flag=True, help="Do not queue the periodic jobs.")
    def worker_command(burst: bool, no_schedule: bool) -> None:
        """Run the background worker: webhook deliveries, subscribe messages and the periodic jobs."""
        if isinstance(get_queue(), EmbeddedQueue):
            raise click.ClickException("JOBS_BACKEND is embedded: jobs run inside the server process")
        run_worker(current_app._get_current_object(), burst=burst, schedule=not no_schedule)  # type: ignore[attr-defined]
