"""IRP's settings plus the yardstick app; used only by `python -m bench`."""

import os
from pathlib import Path

from irp_site.settings import *  # noqa: F403 -- the benchmarked stack must be IRP's own, unchanged

INSTALLED_APPS = [*INSTALLED_APPS, "bench.yardstick.apps.YardstickConfig"]  # noqa: F405
ROOT_URLCONF = "bench.urls"

# The runner collects static files into its own temporary directory so HTML pages render with
# DEBUG off (the manifest storage needs them) without touching the repository's staticfiles/.
if os.environ.get("BENCH_STATIC_ROOT"):
    STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])
