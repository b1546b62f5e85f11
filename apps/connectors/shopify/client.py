"""Shopify Admin API client: GraphQL for catalog, inventory and orders, legacy REST where
Concord still uses it (refunds, inventory level reads). One method per call.

Shapes follow shopify.dev's Admin GraphQL reference (the mutation pages named in each
docstring) and the REST resources in fixtures/platforms/shopify_rest_*.json. The API
version is a setting; the inventory mutations adapt their compare-and-set and idempotency
arguments to it (CONNECTORS.md §4.3):
- before 2026-01: `compareQuantity` / `ignoreCompareQuantity`, no `@idempotent`;
- 2026-01 and later: `changeFromQuantity` per quantity and `@idempotent(key:)`;
- 2026-04 and later: both are required (`changeFromQuantity: null` opts out explicitly).
A throttled GraphQL call (`THROTTLED`, HTTP 200) raises a retryable `PlatformError` whose
`retry_after` is computed from the cost extension.
"""

from __future__ import annotations

import json

import requests

from apps.connectors.http import PlatformClient, PlatformError

API_VERSION = "2026-04"

PRODUCTS_QUERY = """
query Products($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query) {
    nodes {
      id title updatedAt
      variants(first: 20) { nodes { id sku price title inventoryItem { id } } }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""

LOCATIONS_QUERY = """
query Locations($first: Int!) { locations(first: $first) { nodes { id name isActive } } }"""

LEVELS_QUERY = """
query Levels($itemId: ID!, $first: Int!) {
  inventoryItem(id: $itemId) {
    id sku
    inventoryLevels(first: $first) {
      nodes { id location { id name } quantities(names: ["available", "on_hand"]) { name quantity } }
    }
  }
}"""

ORDERS_QUERY = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { id legacyResourceId name updatedAt displayFinancialStatus }
    pageInfo { hasNextPage endCursor }
  }
}"""

ORDER_QUERY = """
query Order($id: ID!) {
  order(id: $id) {
    id legacyResourceId name email createdAt updatedAt sourceName displayFinancialStatus
    totalPriceSet { shopMoney { amount currencyCode } }
    customer { id email phone firstName lastName }
    lineItems(first: 100) {
      nodes { id sku quantity variant { id } originalUnitPriceSet { shopMoney { amount } } }
    }
  }
}"""

_GROUP_FIELDS = """
    inventoryAdjustmentGroup {
      createdAt reason referenceDocumentUri changes { name delta quantityAfterChange }
    }
    userErrors { code field message }"""

SET_QUANTITIES_MUTATION = """
mutation SetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input)IDEMPOTENT {""" + _GROUP_FIELDS + """
  }
}"""

ADJUST_QUANTITIES_MUTATION = """
mutation AdjustQuantities($input: InventoryAdjustQuantitiesInput!) {
  inventoryAdjustQuantities(input: $input)IDEMPOTENT {""" + _GROUP_FIELDS + """
  }
}"""


class ShopifyClient(PlatformClient):
    platform = "shopify"

    def __init__(self, base_url: str, *, access_token: str, api_version: str = API_VERSION, **kwargs):
        super().__init__(base_url, **kwargs)
        self.access_token = access_token
        self.api_version = api_version

    def default_headers(self) -> dict:
        return {**super().default_headers(), "X-Shopify-Access-Token": self.access_token,
                "Content-Type": "application/json"}

    def parse_error(self, response: requests.Response) -> tuple[str, str]:
        errors = response.json().get("errors")
        code = f"http_{response.status_code}"
        if isinstance(errors, str):
            return code, errors
        return code, json.dumps(errors)[:500]

    def admin_path(self, resource: str) -> str:
        return f"/admin/api/{self.api_version}/{resource}"

    # -- GraphQL ---------------------------------------------------------------------------------

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """`POST /admin/api/{v}/graphql.json`; the `data`, or PlatformError on top-level errors."""
        answer = self.request_json("POST", self.admin_path("graphql.json"),
                                   json={"query": query, "variables": variables or {}})
        errors = answer.get("errors")
        if errors:
            raise self._graphql_error(errors, answer.get("extensions", {}).get("cost"))
        return answer["data"]

    def _graphql_error(self, errors, cost: dict | None) -> PlatformError:
        first = errors[0] if isinstance(errors, list) and errors else {"message": str(errors)}
        code = (first.get("extensions") or {}).get("code", "graphql_error")
        if code == "THROTTLED":
            return PlatformError(platform=self.platform, status=200, code="THROTTLED",
                                 detail=first.get("message", ""), retryable=True,
                                 retry_after=throttle_wait(cost))
        return PlatformError(platform=self.platform, status=200, code=code,
                             detail=first.get("message", ""), retryable=False)

    def products_page(self, *, first: int = 20, after: str | None = None, query: str | None = None) -> dict:
        """`products(first, after, query)` with variants and their inventory item ids."""
        return self.graphql(PRODUCTS_QUERY, {"first": first, "after": after, "query": query})["products"]

    def locations(self, *, first: int = 50) -> list[dict]:
        """`locations(first)`."""
        return self.graphql(LOCATIONS_QUERY, {"first": first})["locations"]["nodes"]

    def inventory_levels(self, inventory_item_gid: str, *, first: int = 50) -> dict | None:
        """`inventoryItem(id) { inventoryLevels { quantities(names: ["available","on_hand"]) } }`."""
        return self.graphql(LEVELS_QUERY, {"itemId": inventory_item_gid, "first": first})["inventoryItem"]

    def orders_page(self, *, first: int = 50, after: str | None = None, query: str | None = None) -> dict:
        """`orders(first, after, query, sortKey: UPDATED_AT)`; `query` in Shopify's search
        syntax, e.g. `updated_at:>'2026-11-24T10:00:00Z'`."""
        return self.graphql(ORDERS_QUERY, {"first": first, "after": after, "query": query})["orders"]

    def order(self, order_gid: str) -> dict | None:
        """`order(id)`."""
        return self.graphql(ORDER_QUERY, {"id": order_gid})["order"]

    def set_quantities(self, quantities: list[dict], *, idempotency_key: str, name: str = "available",
                       reason: str = "correction", reference_document_uri: str | None = None) -> dict:
        """`inventorySetQuantities` (shopify.dev/docs/api/admin-graphql/2026-04/mutations/
        inventorySetQuantities), up to 250 quantities. Each entry: `inventory_item_id`,
        `location_id` (GIDs), `quantity`, `change_from` (the quantity we believe Shopify has,
        or None to skip the check). Returns the payload; userErrors are the caller's to read
        (CHANGE_FROM_QUANTITY_STALE / COMPARE_QUANTITY_STALE mean "re-read and retry")."""
        legacy = self.api_version < "2026-01"
        data: dict = {"name": name, "reason": reason,
                      "quantities": [self._quantity_input(q, legacy) for q in quantities]}
        if legacy and all(q.get("change_from") is None for q in quantities):
            data["ignoreCompareQuantity"] = True
        if reference_document_uri:
            data["referenceDocumentUri"] = reference_document_uri
        query = self._with_idempotency(SET_QUANTITIES_MUTATION, idempotency_key)
        return self.graphql(query, {"input": data})["inventorySetQuantities"]

    @staticmethod
    def _quantity_input(entry: dict, legacy: bool) -> dict:
        result = {"inventoryItemId": entry["inventory_item_id"], "locationId": entry["location_id"],
                  "quantity": entry["quantity"]}
        if legacy:
            if entry.get("change_from") is not None:
                result["compareQuantity"] = entry["change_from"]
        else:
            result["changeFromQuantity"] = entry.get("change_from")  # explicit null opts out
        return result

    def adjust_quantities(self, changes: list[dict], *, idempotency_key: str, name: str = "available",
                          reason: str = "correction", reference_document_uri: str | None = None) -> dict:
        """`inventoryAdjustQuantities` (shopify.dev/docs/api/admin-graphql/2026-04/mutations/
        inventoryAdjustQuantities). Each change: `inventory_item_id`, `location_id`, `delta`,
        optional `change_from`."""
        legacy = self.api_version < "2026-01"
        data: dict = {"name": name, "reason": reason, "changes": []}
        for change in changes:
            item = {"inventoryItemId": change["inventory_item_id"], "locationId": change["location_id"],
                    "delta": change["delta"]}
            if not legacy:
                item["changeFromQuantity"] = change.get("change_from")
            data["changes"].append(item)
        if reference_document_uri:
            data["referenceDocumentUri"] = reference_document_uri
        query = self._with_idempotency(ADJUST_QUANTITIES_MUTATION, idempotency_key)
        return self.graphql(query, {"input": data})["inventoryAdjustQuantities"]

    def _with_idempotency(self, mutation: str, key: str) -> str:
        if self.api_version < "2026-01":
            return mutation.replace("IDEMPOTENT", "")
        return mutation.replace("IDEMPOTENT", f" @idempotent(key: {json.dumps(key)})")

    # -- REST (legacy) ------------------------------------------------------------------------------

    def rest_inventory_levels(self, *, inventory_item_ids: list[int] | None = None,
                              location_ids: list[int] | None = None, limit: int = 250) -> list[dict]:
        """`GET inventory_levels.json?inventory_item_ids=&location_ids=`
        (shape: fixtures/platforms/shopify_rest_inventory_levels.json)."""
        params: dict = {"limit": limit}
        if inventory_item_ids:
            params["inventory_item_ids"] = ",".join(map(str, inventory_item_ids))
        if location_ids:
            params["location_ids"] = ",".join(map(str, location_ids))
        return self.request_json("GET", self.admin_path("inventory_levels.json"),
                                 params=params)["inventory_levels"]

    def rest_order(self, order_id: int) -> dict:
        """`GET orders/{id}.json`: the REST Order resource (the `orders/create` webhook body)."""
        return self.request_json("GET", self.admin_path(f"orders/{order_id}.json"))["order"]

    def order_transactions(self, order_id: int | str) -> list[dict]:
        """`GET orders/{id}/transactions.json`: the order's payments (PLATFORM_MONEY §1.2)."""
        path = self.admin_path(f"orders/{order_id}/transactions.json")
        return self.request_json("GET", path)["transactions"]

    def rest_products(self, *, limit: int = 250, since_id: int | None = None) -> list[dict]:
        """`GET products.json?limit=&since_id=`."""
        params: dict = {"limit": limit}
        if since_id:
            params["since_id"] = since_id
        return self.request_json("GET", self.admin_path("products.json"), params=params)["products"]

    def order_refunds(self, order_id: int | str) -> list[dict]:
        """`GET orders/{id}/refunds.json`: the order's refunds (PLATFORM_MONEY §2.2)."""
        return self.request_json("GET", self.admin_path(f"orders/{order_id}/refunds.json"))["refunds"]

    def create_refund(self, order_id: int, refund: dict) -> dict:
        """`POST orders/{id}/refunds.json` with `{"refund": {note, refund_line_items[{line_item_id,
        quantity, restock_type, location_id}], transactions[{parent_id, amount, kind: "refund",
        gateway}]}}` (fixtures/platforms/shopify_rest_refund.json). REST has no idempotency
        key: look the order's refunds up before retrying."""
        return self.request_json("POST", self.admin_path(f"orders/{order_id}/refunds.json"),
                                 json={"refund": refund})["refund"]


def throttle_wait(cost: dict | None) -> float | None:
    """Seconds until the bucket holds the requested cost, from `extensions.cost`."""
    if not cost:
        return None
    status = cost.get("throttleStatus") or {}
    requested = cost.get("requestedQueryCost") or 0
    available = status.get("currentlyAvailable", 0)
    rate = status.get("restoreRate") or 0
    if not rate:
        return None
    return max(0.0, (requested - available) / rate)
