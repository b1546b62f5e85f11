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
from apps.connectors.selectors import owner_of
from apps.core.enums import ExceptionKind
from apps.core.services import open_exception, resolve_exceptions_by_key

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
    from importlib import import_module

    job = SyncJob.objects.get(pk=job_id)
    links = list(PlatformConnection.objects.filter(platform=job.platform, is_enabled=True)
                 .select_related("location"))
    module = import_module(f"apps.connectors.{job.platform}.catalog")
    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now(),
                                             done=0, total=0)
    summary = {"mapped": 0, "unmapped": 0, "ambiguous": 0, "applied": 0, "not_applied": 0,
               "not_applied_examples": []}
    try:
        lookup = _SkuLookup()
        for link in _one_per_catalog(links, module):
            total = module.catalog_size(link)
            SyncJob.objects.filter(pk=job.pk).update(total=job.total + (total or 0))
            job.total += total or 0
            for item in module.iter_catalog(link):
                _apply_item(job.platform, link, item, lookup, summary)
                job.done += 1
                if job.done % PROGRESS_EVERY == 0:
                    SyncJob.objects.filter(pk=job.pk).update(done=job.done, summary=summary)
        SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, done=job.done,
                                                 total=max(job.total, job.done), summary=summary,
                                                 finished_at=timezone.now())
    except Exception as error:
        logger.exception("catalog pull %s failed", job.pk)
        SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=repr(error)[:2000],
                                                 done=job.done, summary=summary,
                                                 finished_at=timezone.now())
    return SyncJob.objects.get(pk=job.pk)


def _one_per_catalog(links: list[PlatformConnection], module) -> Iterable[PlatformConnection]:
    """Platforms with one catalog for all locations (Shopify, Square) are read once."""
    if getattr(module, "CATALOG_PER_LOCATION", True):
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


def _apply_item(platform: str, link: PlatformConnection, item: CatalogItem, lookup: _SkuLookup,
                summary: dict) -> None:
    if not item.sku:
        _report_unmapped(platform, link, item, lookup, summary, reason="has no SKU")
        return
    ours = lookup.find(item.kind, item.sku)
    if ours is None:
        _report_unmapped(platform, link, item, lookup, summary, reason="matches no SKU of ours")
        return
    location = link.location if item.location_specific else None
    field = "variant" if item.kind == ExternalMapping.KIND_VARIANT else "modifier"
    with transaction.atomic():
        clash = (ExternalMapping.objects.filter(platform=platform, kind=item.kind, location=location,
                                                **{f"{field}": ours})
                 .exclude(external_id=item.external_id).first())
        if clash is not None:
            _report_ambiguous(platform, link, item, clash, summary)
            return
        ExternalMapping.objects.update_or_create(
            platform=platform, kind=item.kind, location=location, external_id=item.external_id,
            defaults={field: ours, "data": item.data or {}},
        )
    summary["mapped"] += 1
    resolve_exceptions_by_key(dedupe_key=_unmapped_key(platform, item), reason="mapped by catalog pull")
    if item.kind == ExternalMapping.KIND_VARIANT:
        _compare_owned_fields(platform, link, ours, item, summary)


def _compare_owned_fields(platform: str, link: PlatformConnection, variant: Variant, item: CatalogItem,
                          summary: dict) -> None:
    from apps.catalog.services import update_variant_fields

    changes = {}
    if item.price is not None and item.price != variant.price_amount:
        changes[Domain.PRICE] = ("price_amount", item.price)
    if item.name and item.name != variant.name:
        changes[Domain.CONTENT] = ("name", item.name)
    for domain, (field, value) in changes.items():
        if owner_of(domain=domain, location_id=link.location_id) == platform:
            update_variant_fields(variant_id=variant.pk, **{field: value}, actor=f"{platform} catalog")
            setattr(variant, field, value)
            summary["applied"] += 1
        else:
            summary["not_applied"] += 1
            if len(summary["not_applied_examples"]) < MAX_LISTED_CONFLICTS:
                summary["not_applied_examples"].append(
                    {"sku": variant.sku, "domain": domain, "ours": getattr(variant, field),
                     "theirs": value, "location": link.location.code})


def _unmapped_key(platform: str, item: CatalogItem) -> str:
    return f"unmapped:{platform}:{item.external_id}"


def _report_unmapped(platform, link, item, lookup, summary, *, reason: str) -> None:
    summary["unmapped"] += 1
    open_exception(
        kind=ExceptionKind.UNMAPPED_SKU,
        title=f"{platform} item {item.name or item.external_id} ({item.sku or 'no SKU'}) {reason}",
        platform=platform, location_code=link.location.code, dedupe_key=_unmapped_key(platform, item),
        data={"external_id": item.external_id, "sku": item.sku, "name": item.name,
              "candidates": lookup.candidates(item.kind, item.sku or "", item.name)},
    )


def _report_ambiguous(platform, link, item, clash, summary) -> None:
    summary["ambiguous"] += 1
    open_exception(
        kind=ExceptionKind.UNMAPPED_SKU,
        title=f"{platform} lists SKU {item.sku} twice ({clash.external_id} and {item.external_id})",
        platform=platform, location_code=link.location.code, dedupe_key=_unmapped_key(platform, item),
        data={"external_id": item.external_id, "sku": item.sku, "name": item.name,
              "candidates": [clash.external_id, item.external_id], "ambiguous": True},
    )
