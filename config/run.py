"""`make run`: database, migrations, demo data, then everything the demo needs.

Starts the web server, a django-q2 worker, the four platform emulators (wired to the demo
stores) and a traffic generator placing orders on every channel. Ctrl-C stops every
process this started; the embedded Postgres stops with the last one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = os.environ.get("CONCORD_HOST", "127.0.0.1")
PORT = os.environ.get("CONCORD_PORT", "8000")
TRAFFIC_RATE = os.environ.get("DEMO_TRAFFIC_RATE", "1")


def manage(*args: str, check: bool = True) -> int:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, check=check).returncode


def demo_environment() -> None:
    """Development credentials and emulator addresses, unless the environment says otherwise."""
    from apps.connectors.dev_credentials import DEFAULT_PORTS, SECRETS

    concord_url = f"http://{HOST}:{PORT}"
    defaults = {**SECRETS, "CONCORD_PUBLIC_URL": concord_url,
                "SQUARE_WEBHOOK_URL": f"{concord_url}/webhooks/square/"}
    for platform, port in DEFAULT_PORTS.items():
        defaults[f"{platform.upper()}_BASE_URL"] = f"http://127.0.0.1:{port}"
    for name, value in defaults.items():
        os.environ.setdefault(name, value)


def prepare() -> bool:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()  # starts the embedded Postgres unless DATABASE_URL names another
    from apps.inventory.models import Location

    manage("migrate", "--no-input", "-v", "0")
    manage("collectstatic", "--no-input", "-v", "0")
    first_start = not Location.objects.exists()
    if first_start:
        print("First start: creating the demo merchant.", flush=True)
        manage("seed_demo")
    manage("connect_demo")
    return first_start


def services() -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [python, "-m", "gunicorn", "config.wsgi", "--bind", f"{HOST}:{PORT}", "--workers",
                os.environ.get("WEB_CONCURRENCY", "3"), "--log-level", "warning"],
        "worker": [python, "manage.py", "qcluster"],
        "emulators": [python, "manage.py", "run_emulators",
                      "--concord-url", os.environ["CONCORD_PUBLIC_URL"]],
    }


def wait_for_port(port: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def main() -> int:
    embedded = not os.environ.get("DATABASE_URL")
    demo_environment()
    try:
        return run_everything()
    finally:
        if embedded:
            from config.embedded_pg import stop_embedded

            stop_embedded()


def run_everything() -> int:
    prepare()
    children = {name: subprocess.Popen(cmd, cwd=BASE_DIR) for name, cmd in services().items()}
    wait_for_port(int(PORT))
    from apps.connectors.dev_credentials import DEFAULT_PORTS

    if all(wait_for_port(port) for port in DEFAULT_PORTS.values()):
        manage("pull_catalog", check=False)
        if float(TRAFFIC_RATE) > 0:
            children["traffic"] = subprocess.Popen(
                [sys.executable, "manage.py", "simulate_traffic", "--rate", TRAFFIC_RATE], cwd=BASE_DIR)
    print(f"\nConcord is running on http://{HOST}:{PORT}/ — admin at /admin/, API docs at /api/docs/, "
          f"metrics at /metrics. Demo traffic: {TRAFFIC_RATE} order/s (DEMO_TRAFFIC_RATE=0 turns it off). "
          "Ctrl-C stops everything.\n", flush=True)
    return supervise(children)


def supervise(children: dict[str, subprocess.Popen]) -> int:
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(child.poll() is None for child in children.values()):
        time.sleep(0.5)
    for name, child in children.items():
        if child.poll() is not None and not stopping:
            print(f"{name} exited with {child.returncode}; stopping the rest.", flush=True)
    # The traffic first, then the worker (so it does not poll emulators that are gone).
    order = sorted(children, key=lambda name: ["traffic", "worker", "web", "emulators"].index(name))
    for name in order:
        if children[name].poll() is None:
            children[name].send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
