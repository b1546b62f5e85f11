"""Concord's client for the Toast APIs it calls (facts in CONNECTORS.md §1).

One method per endpoint. Each call carries a bearer token from the authentication API
and the `Toast-Restaurant-External-ID` header. Tokens live about a day and Toast asks
clients to fetch a new one no more than twice an hour, so the client keeps its token
until shortly before expiry and logs in again on a 401 only if the token is not fresh.
Money stays in Toast's decimal numbers here; `apps.core.money` converts at the boundary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import requests

from apps.connectors.http import DEFAULT_TIMEOUT, PlatformClient, PlatformError

LOGIN_PATH = "/authentication/v1/authentication/login"
RESTAURANT_HEADER = "Toast-Restaurant-External-ID"
MAX_PAGE_SIZE = 100


def toast_datetime(moment: datetime) -> str:
    """The `yyyy-MM-dd'T'HH:mm:ss.SSSZ` form Toast's date parameters take, in UTC."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


class ToastClient(PlatformClient):
    platform = "toast"
    requests_per_second = 20  # per restaurant (CONNECTORS.md §1.6)

    def pace_key(self) -> str:
        return f"toast:{self.base_url}:{self.restaurant_guid}"

    # [unverified] the status Toast gives a POST that reuses an externalId (the emulator's
    # `duplicate_external_id_status`, default 409).
    duplicate_external_id_statuses = frozenset({409})
    token_refresh_margin_s = 300  # renew this long before expiry
    fresh_token_s = 60  # a 401 on a token younger than this is not fixed by logging in

    def __init__(self, base_url: str, *, client_id: str, client_secret: str,
                 restaurant_guid: str, timeout=DEFAULT_TIMEOUT,
                 session: requests.Session | None = None):
        super().__init__(base_url, timeout=timeout, session=session)
        self.client_id = client_id
        self.client_secret = client_secret
        self.restaurant_guid = restaurant_guid
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_issued = 0.0
        self._token_lock = threading.Lock()

    # -- plumbing ------------------------------------------------------------------------------

    def default_headers(self) -> dict:
        return {**super().default_headers(), RESTAURANT_HEADER: self.restaurant_guid}

    def parse_error(self, response: requests.Response) -> tuple[str, str]:
        """Toast's ErrorMessage: `messageKey` as the code, `message` (and field) as detail."""
        body = response.json()
        code = body.get("messageKey") or f"http_{response.status_code}"
        detail = body.get("message") or body.get("developerMessage") or ""
        if body.get("fieldName"):
            detail = f"{body['fieldName']}: {detail}"
        return code, detail

    def login(self) -> dict:
        """`POST /authentication/v1/authentication/login` with a JSON body (TOAST-AUTH);
        https://doc.toasttab.com/doc/devguide/authentication.html."""
        body = self.request_json("POST", LOGIN_PATH, json={
            "clientId": self.client_id, "clientSecret": self.client_secret,
            "userAccessType": "TOAST_MACHINE_CLIENT",
        })
        token = body["token"]
        now = time.monotonic()
        self._token = token["accessToken"]
        self._token_issued = now
        self._token_expires = now + float(token.get("expiresIn") or 0)
        return body

    def access_token(self) -> str:
        with self._token_lock:
            if self._token is None or (
                time.monotonic() > self._token_expires - self.token_refresh_margin_s
            ):
                self.login()
            return self._token

    def _call(self, method: str, path: str, **kwargs):
        """An authenticated call; one fresh login and retry if an old token is refused."""
        token = self.access_token()
        try:
            return self._authorized(method, path, token, **kwargs)
        except PlatformError as exc:
            if exc.status != 401 or not self._drop_stale_token(token):
                raise
        return self._authorized(method, path, self.access_token(), **kwargs)

    def _authorized(self, method: str, path: str, token: str, **kwargs):
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return self.request_json(method, path, headers=headers, **kwargs)

    def _drop_stale_token(self, token: str) -> bool:
        with self._token_lock:
            if token != self._token:
                return True  # another thread already replaced it
            if time.monotonic() - self._token_issued < self.fresh_token_s:
                return False
            self._token = None
            return True

    # -- menus and configuration ---------------------------------------------------------------

    def get_menus(self) -> dict:
        """`GET /menus/v2/menus`: the Restaurant document (TOAST-MENU v2.4.1). Limited to
        1 request/s per location: poll `get_menu_metadata` first."""
        return self._call("GET", "/menus/v2/menus")

    def get_menu_metadata(self) -> dict:
        """`GET /menus/v2/metadata`: `{restaurantGuid, lastUpdated}` (TOAST-MENU)."""
        return self._call("GET", "/menus/v2/metadata")

    def list_dining_options(self) -> list[dict]:
        """`GET /config/v2/diningOptions`: DiningOption list with `behavior`
        (https://doc.toasttab.com/doc/devguide/apiOrderTypeDetails.html)."""
        return self._call("GET", "/config/v2/diningOptions")

    # -- orders ----------------------------------------------------------------------------------

    def create_order(self, order: dict) -> dict:
        """`POST /orders/v2/orders` with an Order (TOAST-ORD v2.9.0, example in
        fixtures/platforms/toast_order_post_request.json). Toast has no idempotency header:
        the order's unique `externalId` is the guard, so after a timeout look the order up
        with `find_order_by_external_id` before posting again."""
        return self._call("POST", "/orders/v2/orders", json=order,
                          headers={"Content-Type": "application/json"})

    def price_order(self, order: dict) -> dict:
        """`POST /orders/v2/prices`: the same Order body, priced by Toast, nothing created."""
        return self._call("POST", "/orders/v2/prices", json=order,
                          headers={"Content-Type": "application/json"})

    def get_order(self, guid: str) -> dict:
        """`GET /orders/v2/orders/{guid}` (TOAST-ORD)."""
        return self._call("GET", f"/orders/v2/orders/{guid}")

    def list_orders(self, *, business_date: int | None = None, start: datetime | None = None,
                    end: datetime | None = None, page: int = 1,
                    page_size: int = MAX_PAGE_SIZE) -> list[dict]:
        """`GET /orders/v2/ordersBulk` by `businessDate` (yyyyMMdd) or a `startDate`/`endDate`
        range, one page (TOAST-ORD)."""
        params: dict = {"pageSize": page_size, "page": page}
        if business_date is not None:
            params["businessDate"] = str(business_date)
        elif start is not None and end is not None:
            params.update(startDate=toast_datetime(start), endDate=toast_datetime(end))
        else:
            raise ValueError("give business_date, or start and end")
        return self._call("GET", "/orders/v2/ordersBulk", params=params)

    def iter_orders(self, **kwargs) -> Iterator[dict]:
        """Every order `list_orders` would return, page by page."""
        page_size = kwargs.pop("page_size", MAX_PAGE_SIZE)
        for page in range(1, 10_000):
            batch = self.list_orders(page=page, page_size=page_size, **kwargs)
            yield from batch
            if len(batch) < page_size:
                return

    def find_order_by_external_id(self, external_id: str) -> dict | None:
        """The order with this `externalId`, or None.

        ASSUMPTION: Toast documents a lookup by externalId, but the path is not in our
        facts; this calls `GET /orders/v2/ordersBulk?externalId=`, which the emulator
        serves. Check it against Toast before pointing Concord at production.
        """
        found = self._call("GET", "/orders/v2/ordersBulk", params={"externalId": external_id})
        return found[0] if found else None

    def is_duplicate_external_id(self, error: PlatformError) -> bool:
        """Whether a failed create_order says the externalId is already taken."""
        return error.status in self.duplicate_external_id_statuses and "externalId" in (
            error.detail or "")

    def void_order(self, guid: str) -> dict:
        """`POST /orders/v2/orders/{guid}/void` (TOAST-ORD)."""
        return self._call("POST", f"/orders/v2/orders/{guid}/void", json={},
                          headers={"Content-Type": "application/json"})

    # -- stock -----------------------------------------------------------------------------------

    def list_inventory(self, status: str | None = None) -> list[dict]:
        """`GET /stock/v1/inventory[?status=]`: MenuItemInventory of every item that is not
        IN_STOCK (TOAST-STOCK)."""
        params = {"status": status} if status else None
        return self._call("GET", "/stock/v1/inventory", params=params)

    def search_inventory(self, *, guids=(), multi_location_ids=()) -> list[dict]:
        """`POST /stock/v1/inventory/search`: the listed items, IN_STOCK ones included."""
        return self._call("POST", "/stock/v1/inventory/search", json={
            "guids": list(guids), "multiLocationIds": list(multi_location_ids),
        })

    def update_inventory(self, entries: list[dict]) -> list[dict]:
        """`PUT /stock/v1/inventory/update` with `[MenuItemInventory]`: `quantity` (> 0) only
        with status QUANTITY (TOAST-STOCK; fixtures/platforms/
        toast_stock_update_request.CONSTRUCTED.json)."""
        return self._call("PUT", "/stock/v1/inventory/update", json=entries)
