import threading

from django.core.management.base import BaseCommand, CommandError

from apps.connectors.enums import JobStatus, Platform
from apps.connectors.services.catalog_sync import run_catalog_pull, start_catalog_pull


class Command(BaseCommand):
    help = "Pull a platform's catalog and map its items to our SKUs (progress as it runs)."

    def add_arguments(self, parser):
        parser.add_argument("platforms", nargs="*", metavar="PLATFORM",
                            help="shopify, square, toast, clover (default: every connected one)")
        parser.add_argument("--background", action="store_true", help="queue it for the worker")

    def handle(self, *args, platforms, background, **options):
        from apps.connectors.config import is_configured, missing_settings
        from apps.connectors.selectors import active_connections

        unknown = sorted(set(platforms) - set(Platform.values))
        if unknown:
            raise CommandError(f"Unknown platform {', '.join(unknown)}; "
                               f"choose from {', '.join(Platform.values)}.")
        platforms = platforms or sorted(set(active_connections().values_list("platform", flat=True)))
        for platform in platforms:
            if not is_configured(platform):
                raise CommandError(f"{platform} is off: set {', '.join(missing_settings(platform))}.")
        for platform in platforms:
            job = start_catalog_pull(platform=platform)
            if background:
                from django_q.tasks import async_task

                async_task("apps.connectors.tasks.catalog_pull_task", job.pk)
                self.stdout.write(f"Queued catalog pull #{job.pk} for {platform}.")
                continue
            self._run_with_progress(job)

    def _run_with_progress(self, job):
        runner = threading.Thread(target=run_catalog_pull, args=(job.pk,))
        runner.start()
        while runner.is_alive():
            runner.join(1)
            job.refresh_from_db()
            if job.status == JobStatus.RUNNING:
                self.stdout.write(f"  {job.platform}: {job.done}/{job.total or '?'}")
        job.refresh_from_db()
        summary = job.summary
        self.stdout.write(
            f"{job.platform}: {job.status}, {job.done} items; mapped {summary.get('mapped', 0)}, "
            f"unmapped {summary.get('unmapped', 0)}, ambiguous {summary.get('ambiguous', 0)}, "
            f"changes applied {summary.get('applied', 0)}, not applied (not the owner) "
            f"{summary.get('not_applied', 0)}" + (f" — {job.error}" if job.error else ""))
