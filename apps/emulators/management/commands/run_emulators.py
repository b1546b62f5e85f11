"""`python manage.py run_emulators`: start the local platform emulators and keep them running.

Prints one line per emulator, `<platform> http://127.0.0.1:<port>`, then serves until
SIGINT/SIGTERM. Ports: `--<platform>-port`, else `<PLATFORM>_EMULATOR_PORT`, else
dev_credentials.DEFAULT_PORTS. Webhooks go to `--concord-url`, else `CONCORD_PUBLIC_URL`,
else dev_credentials.CONCORD_URL. Every `--settle-every` seconds (default 60; 0: never)
each emulator settles its money through the present, so payouts and deposits appear at the
platforms' cut-offs as the demo runs (`POST /__emulator/settle` does it on demand).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from apps.demo.dev_credentials import CONCORD_URL, DEFAULT_PORTS
from apps.emulators import EMULATORS, load_emulator

HOST = "127.0.0.1"


class Command(BaseCommand):
    help = "Run the Shopify, Square, Toast and Clover emulators on loopback."

    def add_arguments(self, parser):
        parser.add_argument("--concord-url", default=None,
                            help="where webhooks go (default: $CONCORD_PUBLIC_URL or the dev URL)")
        for platform in EMULATORS:
            parser.add_argument(f"--{platform}-port", type=int, default=None, dest=f"{platform}_port")
        parser.add_argument("--only", default=None, help="comma-separated platforms, e.g. square,toast")
        parser.add_argument("--no-seed", action="store_true", help="start empty, without the demo merchant")
        parser.add_argument("--settle-every", type=float, default=60.0,
                            help="seconds between settling payouts and deposits (0: never)")

    def handle(self, *args, **options):
        platforms = self._platforms(options["only"])
        concord_url = options["concord_url"] or os.environ.get("CONCORD_PUBLIC_URL") or CONCORD_URL
        running = []
        try:
            for platform in platforms:
                emulator_class = self._load(platform)
                if emulator_class is None:
                    continue
                emulator = emulator_class(concord_url=concord_url, seed=not options["no_seed"])
                port = self._port(platform, options)
                try:
                    served = emulator.serve(HOST, port)
                except OSError as exc:
                    raise CommandError(f"{platform}: cannot listen on {HOST}:{port}: {exc}") from exc
                running.append(served)
                self.stdout.write(f"{platform} {served.url}")
                self.stdout.flush()
            if not running:
                raise CommandError("no emulator could be started")
            _wait_for_signal(lambda: _settle(running), options["settle_every"])
        finally:
            for served in running:
                served.shutdown()

    def _platforms(self, only: str | None) -> list[str]:
        if not only:
            return list(EMULATORS)
        chosen = [name.strip().lower() for name in only.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in EMULATORS]
        if unknown:
            raise CommandError(f"unknown platform(s): {', '.join(unknown)}; "
                               f"choose from {', '.join(EMULATORS)}")
        return chosen

    def _load(self, platform: str):
        try:
            return load_emulator(platform)
        except (ImportError, AttributeError) as exc:
            # A platform whose emulator is not there (yet) must not stop the others.
            self.stderr.write(f"warning: {platform} emulator not available, skipped ({exc})")
            return None

    @staticmethod
    def _port(platform: str, options: dict) -> int:
        if options.get(f"{platform}_port") is not None:
            return options[f"{platform}_port"]
        from_env = os.environ.get(f"{platform.upper()}_EMULATOR_PORT")
        if from_env:
            try:
                return int(from_env)
            except ValueError as exc:
                raise CommandError(f"{platform.upper()}_EMULATOR_PORT must be a port number") from exc
        return DEFAULT_PORTS[platform]


def _settle(running) -> None:
    through = datetime.now(UTC).isoformat()
    for served in running:
        served.emulator.call("POST", "/__emulator/settle", body={"through": through})


def _wait_for_signal(every_tick=None, tick_s: float = 0) -> None:
    stop = threading.Event()

    def request_stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    last = time.monotonic()
    while not stop.wait(timeout=1.0):
        if every_tick is not None and tick_s > 0 and time.monotonic() - last >= tick_s:
            last = time.monotonic()
            every_tick()
    sys.stdout.flush()
