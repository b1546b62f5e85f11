"""The platforms Concord connects to, and the parts each one supplies to the sync engine.

A platform is a package under apps/connectors/ (its client, `adapter.py`, `webhooks.py`,
`catalog.py`, and `poller.py` where its webhooks are not enough). This registry names
each platform's parts, and the engine reaches a platform only through it: nothing is
found by module name or probed for. Adding a platform (BigCommerce, WooCommerce) means
writing its package, adding it to `enums.Platform` and declaring its parts here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from apps.connectors.adapters import BaseAdapter
from apps.connectors.enums import Platform

if TYPE_CHECKING:
    from django.http import HttpResponse

    from apps.connectors.models import InboundEvent, PlatformConnection
    from apps.connectors.services.catalog_sync import CatalogItem
    from apps.connectors.services.intake import EventEnvelope


@dataclass(frozen=True)
class InboundHandler:
    """What the webhook view and the intake service call."""

    verify: Callable[[bytes, dict], bool]  # the platform's signature over the raw body
    parse: Callable[[bytes, dict], list[EventEnvelope]]  # a delivery's events, each with its id
    handle: Callable[[InboundEvent], str]  # apply one stored event through the domain services
    # Fetch what an event only names (by id) before handling it; the handler finds the
    # result on `event.prepared`. None: its events carry what they mean.
    prepare: Callable[[InboundEvent], object] | None = None
    # Answer the platform's check that the endpoint is ours (a response), or None to go on
    # with the delivery as an event. None: the platform sends no such check.
    challenge: Callable[[bytes, dict], HttpResponse | None] | None = None


@dataclass(frozen=True)
class Poller:
    """Reads the platform's recent sales into the same intake as its webhooks."""

    poll: Callable[[PlatformConnection], int]
    # Its webhooks bring the sales and polling only finds what a lost one did not, so it
    # runs on the backstop interval; otherwise polling is how its sales arrive.
    backstop: bool


@dataclass(frozen=True)
class CatalogReader:
    size: Callable[[PlatformConnection], int | None]  # for the pull's progress; None: unknown
    items: Callable[[PlatformConnection], Iterable[CatalogItem]]
    # Ids differ per location (Clover merchants, Toast restaurants): read at each connected
    # location. Otherwise one catalog serves every location and is read once.
    per_location: bool


@dataclass(frozen=True)
class ConnectorPlatform:
    name: str
    adapter: Callable[[PlatformConnection], BaseAdapter]  # outbound: orders in, stock pushed
    inbound: InboundHandler
    catalog: CatalogReader
    poller: Poller | None  # None: its webhooks are complete (Shopify retries them for hours)
    # Reads the location's payments, refunds and payouts into finance (`<platform>/money.py`),
    # on the money schedule; returns what it recorded. None: it has no money to read.
    money: Callable[[PlatformConnection], dict] | None = None


class UnknownPlatform(LookupError):
    def __init__(self, name: str):
        super().__init__(f"Concord has no connector for platform {name!r}; "
                         f"it knows {', '.join(sorted(_DECLARATIONS))}")
        self.name = name


# Each declaration imports its package when first asked for, not when this module loads:
# the packages import the engine's services (intake, selectors), which import this registry.


def _shopify() -> ConnectorPlatform:
    from apps.connectors.shopify import adapter, catalog, money, webhooks

    return ConnectorPlatform(Platform.SHOPIFY, adapter.Adapter, _inbound(webhooks), _catalog(catalog),
                             poller=None, money=money.read_money)


def _square() -> ConnectorPlatform:
    from apps.connectors.square import adapter, catalog, money, poller, webhooks

    return ConnectorPlatform(Platform.SQUARE, adapter.Adapter, _inbound(webhooks), _catalog(catalog),
                             poller=Poller(poller.poll, backstop=True), money=money.read_money)


def _toast() -> ConnectorPlatform:
    from apps.connectors.toast import adapter, catalog, poller, webhooks

    # Toast sends no order webhooks in our facts: polling is how its sales arrive. Its
    # payments come with the polled orders (toast/money.py); it has no payout API.
    return ConnectorPlatform(Platform.TOAST, adapter.Adapter, _inbound(webhooks), _catalog(catalog),
                             poller=Poller(poller.poll, backstop=False))


def _clover() -> ConnectorPlatform:
    from apps.connectors.clover import adapter, catalog, money, poller, webhooks

    # Clover's webhooks name what changed without its content, and Clover checks the
    # endpoint with a code it posts there first.
    inbound = _inbound(webhooks, prepare=webhooks.prepare, challenge=webhooks.challenge)
    return ConnectorPlatform(Platform.CLOVER, adapter.Adapter, inbound, _catalog(catalog),
                             poller=Poller(poller.poll, backstop=True), money=money.read_money)


def _inbound(webhooks, **hooks) -> InboundHandler:
    return InboundHandler(verify=webhooks.verify, parse=webhooks.parse, handle=webhooks.handle, **hooks)


def _catalog(catalog) -> CatalogReader:
    return CatalogReader(catalog.catalog_size, catalog.iter_catalog, catalog.CATALOG_PER_LOCATION)


_DECLARATIONS: dict[str, Callable[[], ConnectorPlatform]] = {
    Platform.SHOPIFY: _shopify,
    Platform.SQUARE: _square,
    Platform.TOAST: _toast,
    Platform.CLOVER: _clover,
}


@cache
def connector_platform(name: str) -> ConnectorPlatform:
    """The parts of the platform called `name`; UnknownPlatform if Concord has none."""
    declare = _DECLARATIONS.get(name)
    if declare is None:
        raise UnknownPlatform(name)
    return declare()


def adapter_for(connection: PlatformConnection) -> BaseAdapter:
    return connector_platform(connection.platform).adapter(connection)
