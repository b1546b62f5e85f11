"""Concord's client for the Clover v3 REST API calls it makes (facts in CONNECTORS.md §3).

One method per endpoint; money in cents, times in epoch milliseconds. Clover has no
idempotency key for orders: Concord writes its reference into the order `title` and
looks it up with `find_orders_by_title` before any retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import requests

from apps.connectors.http import DEFAULT_TIMEOUT, PlatformClient, parse_retry_after

MAX_PAGE_SIZE = 1000
IDS_PER_CALL = 100  # Clover: "no more than 100 items per query"
DEFAULT_ITEM_EXPAND = ("itemStock", "categories", "modifierGroups")
# An order with what a sale needs: its lines, payments and customer (nested expansion as
# `lineItems.modifications`; that Clover expands `customers.*` alike is [unverified]).
DEFAULT_ORDER_EXPAND = ("lineItems", "lineItems.modifications", "payments", "customers",
                        "customers.emailAddresses", "customers.phoneNumbers", "refunds")
RATE_LIMIT_HEADERS = ("X-RateLimit-tokenConcurrentLimit", "X-RateLimit-tokenLimit",
                      "X-RateLimit-crossTokenConcurrentLimit", "X-RateLimit-crossTokenLimit")


class CloverClient(PlatformClient):
    platform = "clover"
    requests_per_second = 16  # per token (CONNECTORS.md §3.6)

    def pace_key(self) -> str:
        return f"clover:{self.base_url}:{self.access_token}"

    first_backoff_s = 1.0  # Clover staff: back off 1 s, then 2, 4, 8 ...

    def __init__(self, base_url: str, *, access_token: str, merchant_id: str,
                 timeout=DEFAULT_TIMEOUT, session: requests.Session | None = None):
        super().__init__(base_url, timeout=timeout, session=session)
        self.access_token = access_token
        self.merchant_id = merchant_id

    # -- plumbing ------------------------------------------------------------------------------

    def default_headers(self) -> dict:
        # Tokens in URLs are refused since 2022: the header is the only way.
        return {**super().default_headers(), "Authorization": f"Bearer {self.access_token}"}

    def parse_error(self, response: requests.Response) -> tuple[str, str]:
        """`{"message": ...}` bodies; a 429 says which limit it hit in a header."""
        if response.status_code == 429:
            hit = next((h for h in RATE_LIMIT_HEADERS if h in response.headers), "unknown")
            return "rate_limited", f"limit {hit}"
        body = response.json()
        return f"http_{response.status_code}", str(body.get("message", ""))

    def retry_after(self, response: requests.Response) -> float | None:
        """Concurrency 429s carry `retry-after`; the per-second ones do not, so wait the
        first step of Clover's recommended 1, 2, 4 ... s back-off."""
        return parse_retry_after(response.headers.get("retry-after")) or self.first_backoff_s

    def _path(self, tail: str) -> str:
        return f"/v3/merchants/{self.merchant_id}/{tail}"

    # -- inventory ---------------------------------------------------------------------------------

    def list_items(self, *, expand: Iterable[str] = DEFAULT_ITEM_EXPAND,
                   modified_since: int | None = None, filters: Iterable[str] = (),
                   limit: int = MAX_PAGE_SIZE, offset: int = 0) -> list[dict]:
        """`GET /v3/merchants/{mId}/items?expand=&filter=&limit=&offset=`, one page
        (https://docs.clover.com/docs/managing-items-item-groups, /docs/querying-inventory)."""
        filters = list(filters)
        if modified_since is not None:
            filters.append(f"modifiedTime>={modified_since}")
        params = {"expand": ",".join(expand), "filter": filters, "limit": limit,
                  "offset": offset}
        return self.request_json("GET", self._path("items"), params=params)["elements"]

    def iter_items(self, **kwargs) -> Iterator[dict]:
        """Every item `list_items` would match, page by page."""
        limit = kwargs.pop("limit", MAX_PAGE_SIZE)
        offset = 0
        while True:
            batch = self.list_items(limit=limit, offset=offset, **kwargs)
            yield from batch
            if len(batch) < limit:
                return
            offset += limit

    def get_item(self, item_id: str, *, expand: Iterable[str] = DEFAULT_ITEM_EXPAND) -> dict:
        """`GET /v3/merchants/{mId}/items/{itemId}`."""
        return self.request_json("GET", self._path(f"items/{item_id}"),
                                 params={"expand": ",".join(expand)})

    def get_items(self, item_ids: Iterable[str], *, expand: Iterable[str] = DEFAULT_ITEM_EXPAND
                  ) -> list[dict]:
        """Several items by id, `IDS_PER_CALL` to a call (`filter=id in (...)`); ids Clover
        does not know are simply absent."""
        return [item for chunk in _chunks(item_ids)
                for item in self.list_items(expand=expand, filters=[_id_in(chunk)], limit=len(chunk))]

    def create_item(self, fields: dict) -> dict:
        """`POST /v3/merchants/{mId}/items` (`name` and `price` in cents required)."""
        return self.request_json("POST", self._path("items"), json=fields)

    def update_item(self, item_id: str, fields: dict) -> dict:
        """`POST /v3/merchants/{mId}/items/{itemId}`, e.g. `{"available": false}` to 86 it."""
        return self.request_json("POST", self._path(f"items/{item_id}"), json=fields)

    def list_modifier_groups(self) -> list[dict]:
        """`GET /v3/merchants/{mId}/modifier_groups?expand=modifiers`."""
        return self.request_json("GET", self._path("modifier_groups"),
                                 params={"expand": "modifiers"})["elements"]

    def get_item_stock(self, item_id: str) -> dict:
        """`GET /v3/merchants/{mId}/item_stocks/{itemId}`: `{item, stockCount, quantity}`
        (fixtures/platforms/clover_item_stock_response.json)."""
        return self.request_json("GET", self._path(f"item_stocks/{item_id}"))

    def set_item_stock(self, item_id: str, quantity: int | float) -> dict:
        """`POST /v3/merchants/{mId}/item_stocks/{itemId}` with `{"quantity": n}`: the only
        way to write stock (fixtures/platforms/clover_item_stock_update_*.json)."""
        return self.request_json("POST", self._path(f"item_stocks/{item_id}"),
                                 json={"quantity": quantity})

    # -- orders ----------------------------------------------------------------------------------

    def list_order_types(self) -> list[dict]:
        """`GET /v3/merchants/{mId}/order_types`."""
        return self.request_json("GET", self._path("order_types"))["elements"]

    def create_atomic_order(self, order_cart: dict) -> dict:
        """`POST /v3/merchants/{mId}/atomic_order/orders` with `{"orderCart": ...}`: the
        whole order in one call, totals computed by Clover
        (https://docs.clover.com/dev/docs/create-an-atomic-order). There is no idempotency
        key: put Concord's reference in `title` and look it up before retrying."""
        return self.request_json("POST", self._path("atomic_order/orders"),
                                 json={"orderCart": order_cart})

    def create_order(self, fields: dict) -> dict:
        """`POST /v3/merchants/{mId}/orders`: an order shell for the custom flow
        (https://docs.clover.com/dev/docs/creating-custom-orders)."""
        return self.request_json("POST", self._path("orders"), json=fields)

    def add_line_item(self, order_id: str, line_item: dict) -> dict:
        """`POST /v3/merchants/{mId}/orders/{orderId}/line_items` (`item.id` or `price`)."""
        return self.request_json("POST", self._path(f"orders/{order_id}/line_items"),
                                 json=line_item)

    def get_order(self, order_id: str, *,
                  expand: Iterable[str] = DEFAULT_ORDER_EXPAND) -> dict:
        """`GET /v3/merchants/{mId}/orders/{orderId}?expand=lineItems`."""
        return self.request_json("GET", self._path(f"orders/{order_id}"),
                                 params={"expand": ",".join(expand)})

    def get_orders(self, order_ids: Iterable[str], *, expand: Iterable[str] = DEFAULT_ORDER_EXPAND
                   ) -> list[dict]:
        """Several orders by id, as `get_items`. Clover lists no unfinished order (state
        null), so those are absent too."""
        return [order for chunk in _chunks(order_ids)
                for order in self.list_orders(expand=expand, filters=[_id_in(chunk)], limit=len(chunk))]

    def list_orders(self, *, modified_since: int | None = None, filters: Iterable[str] = (),
                    expand: Iterable[str] = DEFAULT_ORDER_EXPAND, limit: int = 100,
                    offset: int = 0) -> list[dict]:
        """`GET /v3/merchants/{mId}/orders?filter=...&expand=...`, one page; the poller's
        backstop reads `modifiedTime>=` its last high-water mark."""
        filters = list(filters)
        if modified_since is not None:
            filters.append(f"modifiedTime>={modified_since}")
        params = {"filter": filters, "expand": ",".join(expand), "limit": limit,
                  "offset": offset}
        return self.request_json("GET", self._path("orders"), params=params)["elements"]

    def delete_order(self, order_id: str) -> None:
        """`DELETE /v3/merchants/{mId}/orders/{orderId}`: how an open order is voided through
        the API (docs.clover.com "Delete an order"; [unverified] refused once it has payments)."""
        self.request_json("DELETE", self._path(f"orders/{order_id}"))

    def find_orders_by_title(self, title: str) -> list[dict]:
        """Orders whose `title` is Concord's reference: how a retry learns the first
        attempt already created the order."""
        return self.list_orders(filters=[f"title={title}"])


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    ids = list(dict.fromkeys(ids))
    for start in range(0, len(ids), IDS_PER_CALL):
        yield ids[start:start + IDS_PER_CALL]


def _id_in(ids: list[str]) -> str:
    """https://docs.clover.com/docs/using-filters-to-retrieve-multiple-results-from-an-endpoint"""
    return "id in (" + ",".join(f"'{item_id}'" for item_id in ids) + ")"
