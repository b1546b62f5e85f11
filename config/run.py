"""`make run`: database, migrations, demo data, then the web server and a worker.

Ctrl-C stops every process this started; the embedded Postgres stops with the last one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = os.environ.get("CONCORD_HOST", "127.0.0.1")
PORT = os.environ.get("CONCORD_PORT", "8000")


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, check=True)


def prepare() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()  # starts the embedded Postgres unless DATABASE_URL names another
    from apps.inventory.models import Location

    manage("migrate", "--no-input", "-v", "0")
    manage("collectstatic", "--no-input", "-v", "0")
    if not Location.objects.exists():
        print("First start: creating the demo merchant.", flush=True)
        manage("seed_demo")


def services() -> list[list[str]]:
    python = sys.executable
    return [
        [python, "-m", "gunicorn", "config.wsgi", "--bind", f"{HOST}:{PORT}", "--workers",
         os.environ.get("WEB_CONCURRENCY", "3"), "--access-logfile", "-", "--log-level", "warning"],
        [python, "manage.py", "qcluster"],
    ]


def main() -> int:
    prepare()
    children = [subprocess.Popen(cmd, cwd=BASE_DIR) for cmd in services()]
    print(f"\nConcord is running on http://{HOST}:{PORT}/ — admin at /admin/, API docs at "
          f"/api/docs/. Ctrl-C stops everything.\n", flush=True)
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
