"""The platform registry: every platform declares each part the engine uses, an unknown
platform is a clear error, and the engine reaches platform packages only through it."""

import ast
from pathlib import Path

import pytest

from apps.connectors.adapters import BaseAdapter
from apps.connectors.enums import POS_PLATFORMS, Platform
from apps.connectors.platforms import (
    CatalogReader,
    InboundHandler,
    Poller,
    UnknownPlatform,
    adapter_for,
    connector_platform,
)

CONNECTORS = Path(__file__).resolve().parents[2] / "apps" / "connectors"


@pytest.mark.parametrize("name", Platform.values)
def test_every_platform_declares_each_part(name):
    declared = connector_platform(name)

    assert declared.name == name
    assert issubclass(declared.adapter, BaseAdapter) and declared.adapter is not BaseAdapter
    assert isinstance(declared.inbound, InboundHandler)
    assert all(callable(part) for part in (declared.inbound.verify, declared.inbound.parse,
                                           declared.inbound.handle))
    assert all(hook is None or callable(hook) for hook in (declared.inbound.prepare,
                                                           declared.inbound.challenge))
    assert isinstance(declared.catalog, CatalogReader)
    assert callable(declared.catalog.size) and callable(declared.catalog.items)
    assert isinstance(declared.catalog.per_location, bool)
    assert declared.poller is None or (isinstance(declared.poller, Poller) and callable(declared.poller.poll))


def test_each_pos_is_polled_and_shopify_is_not():
    assert connector_platform(Platform.SHOPIFY).poller is None
    assert all(connector_platform(pos).poller is not None for pos in POS_PLATFORMS)
    assert [pos for pos in POS_PLATFORMS if not connector_platform(pos).poller.backstop] == [Platform.TOAST]


def test_only_clover_fetches_before_handling_and_answers_a_challenge():
    hooks = {name: (connector_platform(name).inbound.prepare is not None,
                    connector_platform(name).inbound.challenge is not None) for name in Platform.values}
    assert hooks == {"shopify": (False, False), "square": (False, False), "toast": (False, False),
                     "clover": (True, True)}


def test_an_unknown_platform_is_a_clear_error():
    with pytest.raises(UnknownPlatform) as raised:
        connector_platform("bigcommerce")

    assert isinstance(raised.value, LookupError)
    assert str(raised.value) == ("Concord has no connector for platform 'bigcommerce'; "
                                 "it knows clover, shopify, square, toast")


def test_the_adapter_for_a_connection_of_an_unknown_platform_is_the_same_error():
    connection = type("Connection", (), {"platform": "woocommerce"})()
    with pytest.raises(UnknownPlatform, match="'woocommerce'"):
        adapter_for(connection)


def test_a_webhook_for_an_unknown_platform_is_not_found(client, db):
    response = client.post("/webhooks/bigcommerce/", data=b"{}", content_type="application/json")
    assert response.status_code == 404


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_the_engine_reaches_platform_packages_only_through_the_registry():
    packages = tuple(f"apps.connectors.{name}" for name in Platform.values)
    engine_files = [path for path in CONNECTORS.rglob("*.py")
                    if path.relative_to(CONNECTORS).parts[0] not in Platform.values
                    and path.name != "platforms.py"]
    offenders = {str(path.relative_to(CONNECTORS)): sorted(name for name in _imported_modules(path)
                                                           if name.startswith(packages))
                 for path in engine_files}

    assert len(engine_files) > 20
    assert {path: names for path, names in offenders.items() if names} == {}
