"""Catalog in: map each platform item to our variant by SKU, and apply what the platform owns.

Ownership decides, per domain (content, price) and location, whether a platform's value
is applied. A change from a system that does not own the domain is not applied; it is
counted and listed in the job's summary. Unmapped or ambiguous SKUs become `unmapped_sku`
exceptions with the candidates attached.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.catalog.models import Modifier, Variant
from apps.connectors.enums import Domain, JobStatus
from apps.connectors.models import ExternalMapping, PlatformConnection, SyncJob
from apps.connectors.platforms import CatalogReader, connector_platform
from apps.connectors.selectors import owner_of
from apps.connectors.services.stock_sync import take_all_baselines
from apps.core.enums import ExceptionKind
from apps.core.services import open_exception, resolve_exceptions

logger = logging.getLogger(__name__)
PROGRESS_EVERY = 250
MAX_LISTED_CONFLICTS = 50


@dataclass(frozen=True)
class CatalogItem:
    """One sellable thing as a platform lists it."""

    external_id: str
    sku: str
    name: str = ""
    price: int | None = None  # minor units
    kind: str = ExternalMapping.KIND_VARIANT
    location_specific: bool = False  # ids differ per location (Clover merchants, Toast restaurants)
    data: dict | None = None


def start_catalog_pull(*, platform: str) -> SyncJob:
    return SyncJob.objects.create(platform=platform, kind="catalog_pull")


def run_catalog_pull(job_id: int) -> SyncJob:
    """Pull every connected location's catalog from the platform; progress on the job row."""
    job = SyncJob.objects.get(pk=job_id)
    links = list(PlatformConnection.objects.filter(platform=job.platform, is_enabled=True)
                 .select_related("location"))
    catalog = connector_platform(job.platform).catalog
    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now(),
                                             done=0, total=0)
    pull = _Pull(job)
    try:
        for link in _one_per_catalog(links, catalog):
            job.total += catalog.size(link) or 0
            SyncJob.objects.filter(pk=job.pk).update(total=job.total)
            for item in catalog.items(link):
                pull.apply(link, item)
        pull.flush()
        pull.summary["baselines"] = sum(take_all_baselines(link) for link in links if link.pushes_stock)
        SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, done=pull.done,
                                                 total=max(job.total, pull.done), summary=pull.summary,
                                                 finished_at=timezone.now())
    except Exception as error:
        logger.exception("catalog pull %s failed", job.pk)
        SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=str(error)[:2000],
                                                 done=pull.done, summary=pull.summary,
                                                 finished_at=timezone.now())
    return SyncJob.objects.get(pk=job.pk)


def _one_per_catalog(links: list[PlatformConnection], catalog: CatalogReader) -> Iterable[PlatformConnection]:
    """Platforms with one catalog for all locations (Shopify, Square) are read once."""
    if catalog.per_location:
        return links
    return links[:1]


class _SkuLookup:
    """Our SKUs, loaded once per pull (12,000 variants are read in one query, not 12,000)."""

    def __init__(self):
        self.variants = {v.sku.upper(): v for v in Variant.objects.all()}
        self.modifiers = {m.sku.upper(): m for m in Modifier.objects.all()}

    def find(self, kind: str, sku: str):
        table = self.variants if kind == ExternalMapping.KIND_VARIANT else self.modifiers
        return table.get(sku.strip().upper())

    def candidates(self, kind: str, sku: str, name: str) -> list[str]:
        table = self.variants if kind == ExternalMapping.KIND_VARIANT else self.modifiers
        by_sku = difflib.get_close_matches(sku.upper(), list(table), n=3, cutoff=0.6)
        by_name = [obj.sku for obj in table.values() if name and obj.name.lower() == name.lower()]
        return sorted({table[s].sku for s in by_sku} | set(by_name))[:5]


class _Pull:
    """One catalog pull: lookups held in memory, mappings written in batches."""

    def __init__(self, job: SyncJob):
        self.job = job
        self.platform = job.platform
        self.done = 0
        self.lookup = _SkuLookup()
        self.summary = {"mapped": 0, "unmapped": 0, "ambiguous": 0, "applied": 0, "not_applied": 0,
                        "not_applied_examples": []}
        self.owner_cache: dict[tuple, str] = {}
        self.mapped_to: dict[tuple, str] = {}  # (kind, location id, our id) -> external id
        self.known_data: dict[tuple, dict] = {}  # what connectors keep on a mapping survives a pull
        for mapping in ExternalMapping.objects.filter(platform=self.platform):
            ours = mapping.variant_id or mapping.modifier_id
            self.mapped_to[(mapping.kind, mapping.location_id, ours)] = mapping.external_id
            self.known_data[(mapping.kind, mapping.location_id, mapping.external_id)] = mapping.data
        self.pending: dict[tuple, ExternalMapping] = {}

    def apply(self, link: PlatformConnection, item: CatalogItem) -> None:
        self._apply(link, item)
        self.done += 1
        if self.done % PROGRESS_EVERY == 0:
            self.flush()
            SyncJob.objects.filter(pk=self.job.pk).update(done=self.done, summary=self.summary)

    def _apply(self, link: PlatformConnection, item: CatalogItem) -> None:
        if not item.sku:
            _report_unmapped(self.platform, link, item, self.lookup, self.summary, reason="has no SKU")
            return
        ours = self.lookup.find(item.kind, item.sku)
        if ours is None:
            _report_unmapped(self.platform, link, item, self.lookup, self.summary,
                             reason="matches no SKU of ours")
            return
        location_id = link.location_id if item.location_specific else None
        key = (item.kind, location_id, ours.pk)
        known = self.mapped_to.get(key)
        if known is not None and known != item.external_id:
            _report_ambiguous(self.platform, link, item, known, self.summary)
            return
        self.mapped_to[key] = item.external_id
        is_variant = item.kind == ExternalMapping.KIND_VARIANT
        self.pending[(item.kind, location_id, item.external_id)] = ExternalMapping(
            platform=self.platform, kind=item.kind, location_id=location_id, external_id=item.external_id,
            variant=ours if is_variant else None, modifier=None if is_variant else ours,
            data={**self.known_data.get((item.kind, location_id, item.external_id), {}), **(item.data or {})},
            updated_at=timezone.now())
        self.summary["mapped"] += 1
        if is_variant:
            _compare_owned_fields(self, link, ours, item)

    def owner(self, domain: str, location_id: int) -> str:
        if (domain, location_id) not in self.owner_cache:
            self.owner_cache[(domain, location_id)] = owner_of(domain=domain, location_id=location_id)
        return self.owner_cache[(domain, location_id)]

    def flush(self) -> None:
        if not self.pending:
            return
        rows = list(self.pending.values())
        with transaction.atomic():
            ExternalMapping.objects.bulk_create(
                rows, update_conflicts=True,
                unique_fields=["platform", "kind", "location", "external_id"],
                update_fields=["variant", "modifier", "data", "updated_at"])
            resolve_exceptions(dedupe_keys=[_unmapped_key(self.platform, row.external_id) for row in rows],
                               reason="mapped by catalog pull")
        self.pending = {}


def _compare_owned_fields(pull: _Pull, link: PlatformConnection, variant: Variant, item: CatalogItem) -> None:
    from apps.catalog.services import update_variant_fields

    platform, summary = pull.platform, pull.summary
    changes = {}
    if item.price is not None and item.price != variant.price_amount:
        changes[Domain.PRICE] = ("price_amount", item.price)
    if item.name and item.name != variant.name:
        changes[Domain.CONTENT] = ("name", item.name)
    for domain, (field, value) in changes.items():
        if pull.owner(domain, link.location_id) == platform:
            update_variant_fields(variant_id=variant.pk, **{field: value}, actor=f"{platform} catalog")
            setattr(variant, field, value)
            summary["applied"] += 1
        else:
            summary["not_applied"] += 1
            if len(summary["not_applied_examples"]) < MAX_LISTED_CONFLICTS:
                summary["not_applied_examples"].append(
                    {"sku": variant.sku, "domain": domain, "ours": getattr(variant, field),
                     "theirs": value, "location": link.location.code})


def _unmapped_key(platform: str, external_id: str) -> str:
    return f"unmapped:{platform}:{external_id}"


def _report_unmapped(platform, link, item, lookup, summary, *, reason: str) -> None:
    summary["unmapped"] += 1
    open_exception(
        kind=ExceptionKind.UNMAPPED_SKU,
        title=f"{platform} item {item.name or item.external_id} ({item.sku or 'no SKU'}) {reason}",
        platform=platform, location_code=link.location.code,
        dedupe_key=_unmapped_key(platform, item.external_id),
        data={"external_id": item.external_id, "sku": item.sku, "name": item.name,
              "candidates": lookup.candidates(item.kind, item.sku or "", item.name)},
    )


def _report_ambiguous(platform, link, item, other_external_id: str, summary) -> None:
    summary["ambiguous"] += 1
    open_exception(
        kind=ExceptionKind.UNMAPPED_SKU,
        title=f"{platform} lists SKU {item.sku} twice ({other_external_id} and {item.external_id})",
        platform=platform, location_code=link.location.code,
        dedupe_key=_unmapped_key(platform, item.external_id),
        data={"external_id": item.external_id, "sku": item.sku, "name": item.name,
              "candidates": [other_external_id, item.external_id], "ambiguous": True},
    )
