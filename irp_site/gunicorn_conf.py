"""gunicorn settings; every value can be overridden by the environment."""

import os

bind = f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
# gunicorn 27 otherwise opens a control socket under ~/.gunicorn/, which we do not use.
control_socket_disable = True
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
errorlog = "-"
