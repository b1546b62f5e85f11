"""Finance reports: the daily channel and liabilities rollups, their watermark, and export jobs."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class DailyChannelSales(models.Model):
    """One business day × location × channel of the channel report, kept OFF the order
    path: `apps.reports.rollup` recomputes the days orders and refunds touched since its
    watermark (a django-q2 schedule), and the report reads each store's today live."""

    day = models.DateField(help_text="The location's business day.")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=20)
    currency = models.CharField(max_length=3)
    orders = models.IntegerField(default=0)
    units = models.BigIntegerField(default=0)
    gross_sales = models.BigIntegerField(default=0, help_text="The placed orders' totals, minor units.")
    discounts = models.BigIntegerField(default=0)
    tax = models.BigIntegerField(default=0)
    tips = models.BigIntegerField(default=0)
    refunds = models.BigIntegerField(default=0, help_text="Refunds made that day, minor units.")
    refund_count = models.IntegerField(default=0)
    oversold_units = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["day", "location_id", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["day", "location", "channel"], name="daily_channel_sales_unique"),
        ]
        indexes = [models.Index(fields=["location", "day"])]

    def __str__(self):
        return f"{self.day} {self.location_id} {self.channel}"


class RollupWatermark(models.Model):
    """How far the rollup has read changes: one row per rollup, by name."""

    name = models.CharField(max_length=50, unique=True)
    changes_since = models.DateTimeField()

    def __str__(self):
        return f"{self.name} from {self.changes_since:%Y-%m-%d %H:%M:%S}"


class DailyLiabilityMovement(models.Model):
    """One reporting day (settings.TIME_ZONE) × liability × currency × kind of entry of the
    liabilities report: the sum of that day's gift card, store credit or loyalty ledger
    entries of that kind. `apps.reports.liability_rollup` keeps the days before its
    watermark (a django-q2 schedule, off the order path); the report reads later days live."""

    day = models.DateField()
    liability = models.CharField(max_length=16, help_text="gift_card, store_credit or loyalty.")
    currency = models.CharField(max_length=3, blank=True, help_text="Empty for loyalty (points).")
    kind = models.CharField(max_length=16, help_text="The ledger entries' kind (issue, redeem, earn...).")
    total = models.BigIntegerField(help_text="Signed: minor units, or points for loyalty.")
    entries = models.IntegerField()
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["day", "liability", "currency", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["day", "liability", "currency", "kind"],
                                    name="daily_liability_movement_unique"),
        ]

    def __str__(self):
        return f"{self.day} {self.liability} {self.currency} {self.kind}"


class ExportJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    """A long export made in the background (a django-q2 task): its progress, and the
    file kept on disk under EXPORTS_ROOT for its owner to download."""

    kind = models.CharField(max_length=32)
    file_format = models.CharField(max_length=8)
    first_day = models.DateField()
    last_day = models.DateField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=ExportJobStatus.choices, default=ExportJobStatus.QUEUED)
    done = models.IntegerField(default=0)
    total = models.IntegerField(default=0)
    file_name = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    progressed_at = models.DateTimeField(
        null=True, blank=True, help_text="The running job's last sign of life: started or moved on.")
    finished_at = models.DateTimeField(null=True, blank=True)
    restarted_as = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="restart_of",
        help_text="The job that ran this one again.")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(done__gte=0, total__gte=0),
                                   name="export_job_progress_not_negative"),
            models.CheckConstraint(condition=Q(first_day__lte=models.F("last_day")),
                                   name="export_job_days_in_order"),
        ]

    def __str__(self):
        return f"Export #{self.pk} {self.kind}.{self.file_format} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in (ExportJobStatus.QUEUED, ExportJobStatus.RUNNING)
