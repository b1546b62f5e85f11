"""Catalog mapping with ownership, large pulls with progress, drift repair, metrics."""

import types
from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.catalog.models import Variant
from apps.connectors.enums import Domain, JobStatus
from apps.connectors.models import (
    Delivery,
    ExternalMapping,
    OwnershipRule,
    PlatformConnection,
    StockSyncState,
)
from apps.connectors.platforms import CatalogReader, connector_platform
from apps.connectors.services import catalog_sync
from apps.connectors.services.catalog_sync import CatalogItem
from apps.connectors.services.drift import detect_drift_at
from apps.core.models import ExceptionItem, OutboxEvent
from tests.connectors.test_delivery_engine import ScriptedPlatform
from tests.factories import ProductFactory


@pytest.fixture
def fake_catalog(monkeypatch):
    """A platform catalog reader (the part a platform package supplies) serving `items`."""
    module = types.SimpleNamespace(items=[])
    module.catalog_size = lambda link: len(module.items)
    module.iter_catalog = lambda link: iter(module.items)
    reader = CatalogReader(size=lambda link: module.catalog_size(link),
                           items=lambda link: module.iter_catalog(link), per_location=False)
    square_platform = connector_platform("square")
    monkeypatch.setattr(catalog_sync, "connector_platform",
                        lambda platform: replace(square_platform, catalog=reader))
    monkeypatch.setattr("apps.connectors.services.stock_sync.adapter_for", ScriptedPlatform)
    ScriptedPlatform.counts = {}
    return module


@pytest.fixture
def square_oak(shop):
    return PlatformConnection.objects.create(platform="square", location=shop.oak,
                                             external_location_id="LOAK")


def pull():
    job = catalog_sync.start_catalog_pull(platform="square")
    return catalog_sync.run_catalog_pull(job.pk)


def test_items_map_by_sku_and_unknown_skus_become_exceptions_with_candidates(shop, square_oak, fake_catalog):
    fake_catalog.items = [
        CatalogItem("sq-1", "burrito", "Burrito", 950),  # SKU match is case-insensitive
        CatalogItem("sq-2", "TAC0", "Taco", 375),  # a typo: no match, but a candidate
        CatalogItem("sq-3", "", "Mystery"),
        CatalogItem("sq-m", "EXTRA-GUAC", "Extra guacamole", kind=ExternalMapping.KIND_MODIFIER),
    ]
    job = pull()

    assert (job.status, job.done, job.total) == (JobStatus.DONE, 4, 4)
    assert job.summary["mapped"] == 2
    assert job.summary["baselines"] == 1  # deltas for BURRITO start from the platform's count
    assert ExternalMapping.objects.get(external_id="sq-1").variant == shop.burrito
    assert ExternalMapping.objects.get(external_id="sq-m").modifier == shop.guac
    unmapped = {e.data["external_id"]: e for e in ExceptionItem.objects.filter(kind="unmapped_sku")}
    assert set(unmapped) == {"sq-2", "sq-3"}
    assert unmapped["sq-2"].data["candidates"] == ["TACO"]


def test_a_platform_that_does_not_own_prices_does_not_change_them(shop, square_oak, fake_catalog):
    fake_catalog.items = [CatalogItem("sq-1", "BURRITO", "Burrito", 1099)]
    job = pull()
    assert Variant.objects.get(sku="BURRITO").price_amount == 950
    assert job.summary["not_applied"] == 1
    assert job.summary["not_applied_examples"][0] == {
        "sku": "BURRITO", "domain": "price", "ours": 950, "theirs": 1099, "location": "OAK"}

    OwnershipRule.objects.create(domain=Domain.PRICE, location=shop.oak, owner="square")
    job = pull()
    assert Variant.objects.get(sku="BURRITO").price_amount == 1099
    assert job.summary["applied"] == 1


def test_the_same_sku_twice_is_ambiguous(shop, square_oak, fake_catalog):
    fake_catalog.items = [CatalogItem("sq-1", "BURRITO", "Burrito", 950),
                          CatalogItem("sq-9", "BURRITO", "Burrito (old)", 950)]
    job = pull()
    assert job.summary["ambiguous"] == 1
    assert ExceptionItem.objects.get(kind="unmapped_sku").data["ambiguous"] is True


def test_a_pull_of_12000_variants_reports_progress_and_maps_them_all(shop, square_oak, fake_catalog,
                                                                     django_assert_max_num_queries):
    product = ProductFactory()
    Variant.objects.bulk_create([Variant(product=product, sku=f"BULK-{n:05d}", name=f"Bulk {n}",
                                         price_amount=100) for n in range(12_000)])
    seen_progress = []

    def items():
        for n in range(12_000):
            if n % 3000 == 0:
                seen_progress.append(catalog_sync.SyncJob.objects.get().done)
            yield CatalogItem(f"sq-{n}", f"BULK-{n:05d}", f"Bulk {n}", 100)

    fake_catalog.iter_catalog = lambda link: items()
    fake_catalog.items = range(12_000)
    job = pull()

    assert (job.status, job.done, job.total, job.summary["mapped"]) == ("done", 12_000, 12_000, 12_000)
    assert seen_progress == [0, 3000, 6000, 9000]  # done/total visible while it runs
    assert ExternalMapping.objects.filter(platform="square").count() == 12_000


@pytest.fixture
def synced(shop, square_oak, monkeypatch):
    monkeypatch.setattr("apps.connectors.services.drift.adapter_for", ScriptedPlatform)
    ScriptedPlatform.counts = {}
    for variant in (shop.burrito, shop.taco, shop.scarce):
        ExternalMapping.objects.create(platform="square", kind="variant", external_id=f"sq-{variant.sku}",
                                       variant=variant)
    OutboxEvent.objects.update(dispatched_at=timezone.now())
    return square_oak


def test_drift_within_the_threshold_is_repaired_and_beyond_it_is_flagged(shop, synced, settings):
    settings.DRIFT_AUTO_FIX_UNITS = 2
    settings.DRIFT_CONFIRM_SECONDS = 0
    ScriptedPlatform.counts = {shop.burrito.pk: 50, shop.taco.pk: 38, shop.scarce.pk: 9}
    report = detect_drift_at(synced)

    assert report == {"checked": 3, "fixed": 1, "flagged": 1}
    push = Delivery.objects.get()
    assert push.variant_id == shop.taco.pk
    assert StockSyncState.objects.get(variant=shop.taco).pushed_available == 38  # deltas start from it
    drift = ExceptionItem.objects.get(kind="stock_drift")
    assert (drift.units, drift.value_amount) == (6, 6 * 4999)
    assert drift.data["target"] == 3

    ScriptedPlatform.counts[shop.scarce.pk] = 3
    detect_drift_at(synced)
    drift.refresh_from_db()
    assert drift.status == "resolved"


def test_metrics_and_health(client, shop, synced, worker_alive):
    Delivery.objects.create(platform="square", kind="push_stock", subject_key="stock:x", location=shop.oak,
                            variant_id=shop.taco.pk, next_attempt_at=timezone.now())
    ExceptionItem.objects.create(kind="oversold", title="t")
    text = client.get("/metrics").content.decode()
    assert "concord_deliveries_pending 1.0" in text
    assert 'concord_exceptions_open{kind="oversold"} 1.0' in text
    # Every platform and kind has its series, zero included, so "none" is not "no data".
    assert 'concord_exceptions_open{kind="stock_drift"} 0.0' in text
    for platform in ("shopify", "square", "toast", "clover"):
        assert f'concord_delivery_failures{{platform="{platform}"}} 0.0' in text
    assert "concord_deliveries_oldest_pending_seconds" in text
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["deliveries_pending"] == 1


def test_health_fails_when_changes_wait_in_the_outbox_with_no_worker_to_fan_them_out(client, shop, synced,
                                                                                    worker_alive,
                                                                                    settings):
    settings.HEALTH_MAX_PENDING_AGE_SECONDS = 300
    OutboxEvent.objects.update(dispatched_at=timezone.now())
    OutboxEvent.objects.create(topic="stock.changed", aggregate_type="StockLevel", aggregate_id=1)
    assert client.get("/healthz").status_code == 200  # fresh: a worker will get to it

    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    health = client.get("/healthz")
    assert health.status_code == 503
    assert (health.json()["deliveries_pending"], health.json()["outbox_not_fanned_out"]) == (0, 1)
    assert "concord_outbox_not_fanned_out 1.0" in client.get("/metrics").content.decode()
