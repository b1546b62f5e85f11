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
    print(f"\nConcord is running: the back office at http://{HOST}:{PORT}/ (sign in as admin; "
          "`python manage.py create_staff_user` makes staff users), API docs at /api/docs/, "
          f"metrics at /metrics, Django's admin at /admin/. Demo traffic: {TRAFFIC_RATE} order/s "
          "(DEMO_TRAFFIC_RATE=0 turns it off). "
          "Ctrl-C stops everything.\n", flush=True)
    for name, child in children.items():
        log(f"{name} started (pid {child.pid}).")
    return supervise(children, commands)


def start(command: list[str]) -> subprocess.Popen:
    """In a session of its own: Ctrl-C reaches only this supervisor, which stops the
    children in order, and a child's own children go with it."""
    return subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)


STOP_ORDER = ["traffic", "worker", "web", "emulators"]  # nothing calls a service already gone
STOP_WAIT_SECONDS = {"worker": 10}  # the sync loop's work is leased: a kill loses nothing
# A worker that dies is started again (its work is leased and re-read from the tables, so
# nothing is lost); the web server, the emulators or the traffic exiting stops everything.
RESTARTED = frozenset({"worker"})
RESTART_FIRST_DELAY_SECONDS = 1.0
RESTART_MAX_DELAY_SECONDS = 60.0
RESTART_STABLE_SECONDS = 60.0  # a child that ran this long starts again at the first delay
POLL_SECONDS = 0.5


class Restarts:
    """When to start a child that exited again: at once-ish, then twice as long after each
    quick death (a worker that cannot start does not spin), back to the first delay once it
    has run a while."""

    def __init__(self, first: float = RESTART_FIRST_DELAY_SECONDS, most: float = RESTART_MAX_DELAY_SECONDS,
                 stable: float = RESTART_STABLE_SECONDS):
        self.first, self.most, self.stable = first, most, stable
        self.delay: dict[str, float] = {}
        self.due: dict[str, float] = {}

    def schedule(self, name: str, *, ran_for: float, now: float) -> float:
        delay = self.first if ran_for >= self.stable else self.delay.get(name, self.first)
        self.delay[name] = min(delay * 2, self.most)
        self.due[name] = now + delay
        return delay

    def take_due(self, now: float) -> list[str]:
        names = [name for name, at in self.due.items() if at <= now]
        for name in names:
            del self.due[name]
        return names


def supervise(children: dict[str, subprocess.Popen], commands: dict[str, list[str]] | None = None, *,
              restarted=RESTARTED, restarts: Restarts | None = None) -> int:
    """Run until Ctrl-C (or SIGTERM), or until a child that is not restarted exits; then
    stop every child in order. 0 when asked to stop, 1 when a child's exit stopped it."""
    commands = commands or {}
    restarts = restarts or Restarts()
    started_at = dict.fromkeys(children, time.monotonic())
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    failed = None
    while not stopping and failed is None:
        now = time.monotonic()
        for name, child in children.items():
            if name in restarts.due or child.poll() is None:
                continue
            if name in restarted and name in commands:
                delay = restarts.schedule(name, ran_for=now - started_at[name], now=now)
                log(f"{name} (pid {child.pid}) exited with {child.returncode}; restarting it in {delay:g} s.")
            else:
                failed = name
                log(f"{name} exited with {child.returncode}; stopping the rest.")
        if failed is None:
            for name in restarts.take_due(now):
                restart(children, name, commands[name])
                started_at[name] = time.monotonic()
        time.sleep(POLL_SECONDS)
    log("Stopping ...")
    for name in sorted(children, key=lambda name: STOP_ORDER.index(name) if name in STOP_ORDER else -1):
        stop_group(children[name], STOP_WAIT_SECONDS.get(name, 15))
    return 1 if failed else 0


def restart(children: dict[str, subprocess.Popen], name: str, command: list[str]) -> None:
    stop_group(children[name], 1)  # what the dead one left behind (a qcluster's own workers)
    children[name] = start(command)
    log(f"{name} restarted (pid {children[name].pid}).")


def log(line: str) -> None:
    print(f"[make run] {line}", flush=True)


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
