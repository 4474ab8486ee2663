"""Background jobs on RQ: the queue (RQ on REDIS_URL, or a thread of this process in the embedded
default), the registry of jobs and their schedules, and the ``flask --app wsgi worker`` command."""
