"""`make run`'s supervisor: a worker that dies is started again with back-off and a log
line, and takes nothing else down; the web server exiting still stops everything."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from django.utils import timezone

from apps.core.models import OutboxEvent, WorkerHeartbeat
from config.run import Restarts
from tests.helpers import database_url_of_this_test

BASE_DIR = Path(__file__).resolve().parents[2]
SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


class Supervisor:
    """config.run.supervise in a process of its own (it owns the signals), over the given
    commands; its log lines are read as they come."""

    def __init__(self, commands: dict[str, list[str]], *, first=0.2, most=0.8, stable=30.0, env=None):
        script = textwrap.dedent(f"""
            import sys
            from config import run
            run.POLL_SECONDS = 0.05
            commands = {commands!r}
            children = {{name: run.start(command) for name, command in commands.items()}}
            for name, child in children.items():
                run.log(f"{{name}} started (pid {{child.pid}}).")
            sys.exit(run.supervise(children, commands, restarts=run.Restarts({first}, {most}, {stable})))
        """)
        self.process = subprocess.Popen([sys.executable, "-c", script], cwd=BASE_DIR, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        env=env or os.environ.copy())
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, pattern: str, timeout: float = 30.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line like {pattern!r}; saw {self.seen}")

    def pid_of(self, name: str) -> int:
        return int(self.expect(rf"\] {name} (?:started|restarted) \(pid (\d+)\)").group(1))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_restarts_back_off_and_start_over_after_a_stable_run():
    restarts = Restarts(first=1, most=8, stable=60)
    delays = [restarts.schedule("worker", ran_for=2, now=0) for _ in range(5)]
    assert delays == [1, 2, 4, 8, 8]
    assert restarts.schedule("worker", ran_for=61, now=0) == 1
    assert restarts.take_due(0.5) == [] and restarts.take_due(1) == ["worker"]


def test_a_killed_worker_is_restarted_with_back_off_and_the_rest_keeps_running():
    supervisor = Supervisor({"web": SLEEPER, "emulators": SLEEPER, "worker": SLEEPER})
    try:
        web, emulators, worker = (supervisor.pid_of(name) for name in ("web", "emulators", "worker"))
        for delay in ("0.2", "0.4", "0.8", "0.8"):
            os.kill(worker, signal.SIGKILL)
            supervisor.expect(rf"worker \(pid {worker}\) exited with -9; restarting it in {delay} s\.")
            restarted = supervisor.pid_of("worker")
            assert restarted != worker and alive(restarted)
            worker = restarted
        assert alive(web) and alive(emulators)
    finally:
        assert supervisor.stop() == 0
    assert not any(alive(pid) for pid in (web, emulators, worker))


def test_the_web_server_exiting_still_stops_everything():
    web_dies = [sys.executable, "-c", "import sys, time; time.sleep(0.5); sys.exit(3)"]
    supervisor = Supervisor({"web": web_dies, "worker": SLEEPER})
    worker = supervisor.pid_of("worker")
    supervisor.expect(r"web exited with 3; stopping the rest\.")

    assert supervisor.process.wait(timeout=60) == 1
    assert not alive(worker)


@pytest.mark.django_db(transaction=True)
def test_a_killed_qcluster_under_the_supervisor_is_replaced_and_loses_nothing():
    """The real worker (django-q2 qcluster) under the supervisor: killed, it is started
    again, beats from a new process, and relays a change written while it was dead."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="sync loop", defaults={"func": "apps.connectors.tasks.sync_loop_task", "schedule_type": "I",
                                    "minutes": 1, "repeats": -1, "next_run": timezone.now()})
    env = {**os.environ, "DATABASE_URL": database_url_of_this_test(), "WORKER_HEARTBEAT_SECONDS": "0.5",
           "Q_WORKERS": "2"}
    qcluster = [sys.executable, "manage.py", "qcluster"]
    # The first delay is long enough that the new worker, not the killed one's claim, runs the loop.
    supervisor = Supervisor({"web": SLEEPER, "worker": qcluster}, first=6.0, env=env)
    try:
        web, worker = supervisor.pid_of("web"), supervisor.pid_of("worker")
        first_beat = wait_for(lambda: WorkerHeartbeat.objects.first(), "the first cluster beats")

        os.kill(worker, signal.SIGKILL)
        supervisor.expect(rf"worker \(pid {worker}\) exited with -9; restarting it in 6 s\.")
        change = OutboxEvent.objects.create(topic="stock.changed", aggregate_type="StockLevel",
                                            aggregate_id=1, payload={"location_id": 1, "variant_id": 1})
        restarted = supervisor.pid_of("worker")

        wait_for(lambda: WorkerHeartbeat.objects.exclude(worker=first_beat.worker)
                 .filter(beat_at__gt=first_beat.beat_at).exists(), "a new worker process beats")
        wait_for(lambda: OutboxEvent.objects.filter(pk=change.pk, dispatched_at__isnull=False).exists(),
                 "the change written while the worker was dead is relayed", timeout=90)
        assert restarted != worker and alive(web)
    finally:
        assert supervisor.stop() == 0


def wait_for(condition, message: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting: {message}")
