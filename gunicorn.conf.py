"""gunicorn's settings for this app: `gunicorn -c gunicorn.conf.py 'webapp:create_app()'`.

gunicorn also reads this file by itself when started from this directory.
It binds 127.0.0.1:8000 (gunicorn's default) unless told otherwise; flags on
the command line win over this file (`--bind`, `--workers` ...). The README,
"Running in production", explains each choice; `make bench` measured them.
"""

import gc
import os

_sqlite = os.environ.get("DATABASE_URL", "sqlite").startswith("sqlite")

worker_class = "gthread"
# Two processes per core: while one waits on the database or a socket, the other runs Python.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1)))
# PostgreSQL: a second thread uses the commit's wait. SQLite: one, so that no thread of the
# same process holds the GIL while another holds the database's single write lock.
threads = 1 if _sqlite else 2
# Each worker its own listening socket: the kernel spreads connections over the workers,
# instead of the first to wake taking a whole burst of kept-alive connections.
reuse_port = True
# Build the app once, in the master: a bad setting stops gunicorn with its one-line message.
preload_app = True
timeout = 60  # longer than placing a call may wait for Exotel's answer (30 s)
keepalive = 5

# gunicornc's control socket, one per instance: gunicorn's default is one path per user
# (~/.gunicorn/gunicorn.ctl), which each new instance takes over and the first to stop
# removes for all. Named for the pid of the process that read this file (the master,
# unless --daemon forks it): `gunicornc -s ~/.gunicorn/gunicorn-<pid>.ctl`.
_runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
control_socket = os.path.join(
    _runtime_dir if _runtime_dir and os.path.isdir(_runtime_dir) else os.path.expanduser("~/.gunicorn"),
    f"gunicorn-{os.getpid()}.ctl",
)


def post_worker_init(worker):
    """Move everything loaded so far (the app, its libraries) out of the garbage collector's sight.

    Those objects live as long as the worker, yet every full collection walked all
    of them: measured here, 100-200 ms pauses in which the worker answered nothing,
    a few times a minute under load. After the freeze a full collection looks only
    at what requests left behind (a few ms).
    """
    gc.freeze()
    # worker_down is noticed by the web app (no worker is left to notice it): each process watches from the start.
    from webapp.jobs.alerting import start_worker_watch

    start_worker_watch(getattr(worker, "wsgi", None))
