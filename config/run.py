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
    from apps.demo.dev_credentials import DEFAULT_PORTS, SECRETS

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
    from apps.demo.dev_credentials import DEFAULT_PORTS

    commands = services()
    # The worker last, once what it calls answers (its first polls would only fail).
    children = {name: start(commands[name]) for name in ("emulators", "web")}
    wait_for_port(int(PORT))
    emulators_up = all(wait_for_port(port) for port in DEFAULT_PORTS.values())
    children["worker"] = start(commands["worker"])
    if emulators_up:
        manage("pull_catalog", check=False)
        # The emulators keep nothing between runs: what Concord pushed last time is gone.
        manage("resync_stock", check=False)
        if float(TRAFFIC_RATE) > 0:
            children["traffic"] = start([sys.executable, "manage.py", "simulate_traffic", "--rate",
                                         TRAFFIC_RATE])
    print(f"\nConcord is running on http://{HOST}:{PORT}/ — admin at /admin/, API docs at /api/docs/, "
          f"metrics at /metrics. Demo traffic: {TRAFFIC_RATE} order/s (DEMO_TRAFFIC_RATE=0 turns it off). "
          "Ctrl-C stops everything.\n", flush=True)
    return supervise(children)


def start(command: list[str]) -> subprocess.Popen:
    """In a session of its own: Ctrl-C reaches only this supervisor, which stops the
    children in order, and a child's own children go with it."""
    return subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)


STOP_ORDER = ["traffic", "worker", "web", "emulators"]  # nothing calls a service already gone
STOP_WAIT_SECONDS = {"worker": 10}  # the sync loop's work is leased: a kill loses nothing


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
    print("Stopping ...", flush=True)
    for name in sorted(children, key=STOP_ORDER.index):
        stop_group(children[name], STOP_WAIT_SECONDS.get(name, 15))
    return 0 if stopping else 1


def stop_group(child: subprocess.Popen, wait_seconds: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            return
        try:
            child.wait(timeout=wait_seconds)
            if sig == signal.SIGTERM:
                os.killpg(child.pid, signal.SIGKILL)  # what it left behind
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


if __name__ == "__main__":
    sys.exit(main())
