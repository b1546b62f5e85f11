"""Square API client: one method per endpoint Concord calls.

Every payload follows SQ-SPEC (`square/connect-api-specification` api.json, Square-Version
2025-08-20); each method names the operation it calls. Writes take an idempotency key that
the caller derives from Concord's own ids, so a retry replays instead of duplicating.
Errors arrive as `{"errors": [{"category", "code", "detail", "field"}]}` and are raised as
`PlatformError` with the first error's code.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests

from apps.connectors.http import PlatformClient

SQUARE_VERSION = "2025-08-20"


class SquareClient(PlatformClient):
    platform = "square"

    def __init__(self, base_url: str, *, access_token: str, square_version: str = SQUARE_VERSION,
                 **kwargs):
        super().__init__(base_url, **kwargs)
        self.access_token = access_token
        self.square_version = square_version

    def default_headers(self) -> dict:
        return {
            **super().default_headers(),
            "Authorization": f"Bearer {self.access_token}",
            "Square-Version": self.square_version,
            "Content-Type": "application/json",
        }

    def parse_error(self, response: requests.Response) -> tuple[str, str]:
        first = response.json()["errors"][0]
        detail = first.get("detail", "")
        if first.get("field"):
            detail = f"{detail} ({first['field']})".strip()
        return first["code"], detail

    # -- locations and catalog --------------------------------------------------------------------

    def list_locations(self) -> list[dict]:
        """ListLocations: `GET /v2/locations`."""
        return self.request_json("GET", "/v2/locations").get("locations", [])

    def list_catalog(self, *, types: str | None = None, cursor: str | None = None) -> dict:
        """ListCatalog: `GET /v2/catalog/list?types=&cursor=` (100 objects a page)."""
        params = {key: value for key, value in (("types", types), ("cursor", cursor)) if value}
        return self.request_json("GET", "/v2/catalog/list", params=params)

    def iter_catalog(self, *, types: str | None = None) -> Iterator[dict]:
        """Every catalog object of `types`, following the cursor."""
        cursor = None
        while True:
            page = self.list_catalog(types=types, cursor=cursor)
            yield from page.get("objects", [])
            cursor = page.get("cursor")
            if not cursor:
                return

    def batch_retrieve_catalog_objects(self, object_ids: list[str]) -> list[dict]:
        """BatchRetrieveCatalogObjects: `POST /v2/catalog/batch-retrieve` (variations carry
        their per-location `sold_out` overrides)."""
        body = {"object_ids": object_ids, "include_related_objects": False}
        return self.request_json("POST", "/v2/catalog/batch-retrieve", json=body).get("objects", [])

    # -- orders ------------------------------------------------------------------------------------

    def create_order(self, *, idempotency_key: str, order: dict) -> dict:
        """CreateOrder: `POST /v2/orders` with `{"idempotency_key", "order"}`; returns the order
        (shape: fixtures/platforms/square_create_order_response.json)."""
        body = {"idempotency_key": idempotency_key, "order": order}
        return self.request_json("POST", "/v2/orders", json=body)["order"]

    def retrieve_order(self, order_id: str) -> dict:
        """RetrieveOrder: `GET /v2/orders/{order_id}`."""
        return self.request_json("GET", f"/v2/orders/{order_id}")["order"]

    def update_order(self, order_id: str, *, idempotency_key: str, order: dict) -> dict:
        """UpdateOrder: `PUT /v2/orders/{order_id}` with a sparse `order` carrying the current
        `version`; the same key replays (CONNECTORS.md §2.2, developer.squareup.com
        reference/square/orders-api/update-order)."""
        body = {"idempotency_key": idempotency_key, "order": order}
        return self.request_json("PUT", f"/v2/orders/{order_id}", json=body)["order"]

    def batch_retrieve_orders(self, order_ids: list[str], *, location_id: str | None = None) -> list[dict]:
        """BatchRetrieveOrders: `POST /v2/orders/batch-retrieve` (at most 100 ids)."""
        body: dict = {"order_ids": order_ids}
        if location_id:
            body["location_id"] = location_id
        return self.request_json("POST", "/v2/orders/batch-retrieve", json=body).get("orders", [])

    def search_orders(self, *, location_ids: list[str], updated_after: str | None = None,
                      states: list[str] | None = None, cursor: str | None = None,
                      limit: int | None = None) -> dict:
        """SearchOrders: `POST /v2/orders/search`, oldest change first. With `updated_after`
        the sort field must be UPDATED_AT, as Square requires for a date-time filter."""
        order_filter: dict = {}
        if updated_after:
            order_filter["date_time_filter"] = {"updated_at": {"start_at": updated_after}}
        if states:
            order_filter["state_filter"] = {"states": states}
        body: dict = {
            "location_ids": location_ids,
            "query": {"filter": order_filter,
                      "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"}},
        }
        if cursor:
            body["cursor"] = cursor
        if limit:
            body["limit"] = limit
        return self.request_json("POST", "/v2/orders/search", json=body)

    # -- inventory --------------------------------------------------------------------------------

    def batch_retrieve_counts(self, *, catalog_object_ids: list[str] | None = None,
                              location_ids: list[str] | None = None, updated_after: str | None = None,
                              cursor: str | None = None) -> dict:
        """BatchRetrieveInventoryCounts: `POST /v2/inventory/counts/batch-retrieve`."""
        body = {key: value for key, value in (
            ("catalog_object_ids", catalog_object_ids), ("location_ids", location_ids),
            ("updated_after", updated_after), ("cursor", cursor)) if value}
        return self.request_json("POST", "/v2/inventory/counts/batch-retrieve", json=body)

    def batch_change_inventory(self, *, idempotency_key: str, changes: list[dict],
                               ignore_unchanged_counts: bool = True) -> list[dict]:
        """BatchChangeInventory: `POST /v2/inventory/changes/batch-create` (request shape:
        fixtures/platforms/square_inventory_batch_change_request.json); returns the counts."""
        body = {"idempotency_key": idempotency_key, "changes": changes,
                "ignore_unchanged_counts": ignore_unchanged_counts}
        return self.request_json("POST", "/v2/inventory/changes/batch-create", json=body).get("counts", [])

    # -- payments, refunds, customers ---------------------------------------------------------------

    def refund_payment(self, *, idempotency_key: str, payment_id: str, amount: int, currency: str,
                       reason: str | None = None) -> dict:
        """RefundPayment: `POST /v2/refunds` (shape: fixtures/platforms/square_refund_payment_*.json);
        the refund starts PENDING, `refund.updated` reports COMPLETED."""
        body: dict = {"idempotency_key": idempotency_key, "payment_id": payment_id,
                      "amount_money": {"amount": amount, "currency": currency}}
        if reason:
            body["reason"] = reason
        return self.request_json("POST", "/v2/refunds", json=body)["refund"]

    def retrieve_refund(self, refund_id: str) -> dict:
        """GetPaymentRefund: `GET /v2/refunds/{refund_id}`."""
        return self.request_json("GET", f"/v2/refunds/{refund_id}")["refund"]

    def retrieve_payment(self, payment_id: str) -> dict:
        """GetPayment: `GET /v2/payments/{payment_id}`."""
        return self.request_json("GET", f"/v2/payments/{payment_id}")["payment"]

    def retrieve_customer(self, customer_id: str) -> dict:
        """RetrieveCustomer: `GET /v2/customers/{customer_id}`."""
        return self.request_json("GET", f"/v2/customers/{customer_id}")["customer"]
