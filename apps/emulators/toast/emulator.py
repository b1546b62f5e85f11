"""A local Toast: authentication, menus, dining options, orders and stock, plus webhooks.

Serves the Toast endpoints Concord calls under their real paths (CONNECTORS.md §1), from
in-memory state seeded with the demo's Brooklyn restaurant. Errors are Toast's
`ErrorMessage` (§1.7); every call but login needs a token from login and the
`Toast-Restaurant-External-ID` header; limits are 20 req/s and 10,000 per 15 min per
restaurant and 1 menu read/s per restaurant, with the `X-Toast-RateLimit-*` headers on
every answer. Toast has no orders webhook in our facts (Concord polls `ordersBulk`), so
state changes send only `stock` webhooks, signed with `Toast-Signature`. Payments are
also read by business date (`/orders/v2/payments`, PLATFORM_MONEY §1.4) and the
restaurant's closeoutHour and timeZone (`/restaurants/v1/restaurants/{guid}`); card
deposits and the merchant's export files are in deposits.py.

What is a guess is a class attribute, overridable per instance:
`duplicate_external_id_status`, `restock_on_void`, `max_checks`, `api_approval_status`,
`require_user_access_type`.
"""

from __future__ import annotations

import base64
import hmac
import itertools
import json
import math
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from apps.demo.dev_credentials import SECRETS
from apps.emulators.base import (
    ControlError,
    Emulator,
    Request,
    Response,
    TokenBucket,
    format_retry_after,
    order_state_request,
)
from apps.emulators.settlement import optional_instant

from . import signatures
from .deposits import DepositsMixin
from .menu import (
    OUT_OF_STOCK,
    QUANTITY,
    MenuItem,
    Restaurant,
    StockEntry,
    build_restaurant,
    invalid_inventory_document,
    inventory_document,
    inventory_update_problem,
    menus_document,
    stock_event_type,
)
from .orders import (
    OrderContext,
    OrderRejected,
    PricedSelection,
    apply_check_discount,
    apply_check_tax,
    business_date,
    external_ids,
    order_document,
    price_selections,
    register_payment,
    toast_time,
    validate_order,
)
from .register import refund_payment, sale_discount, sale_order_body, sale_tax, sale_tip, to_cents

RESTAURANT_HEADER = "Toast-Restaurant-External-ID"
ERROR_LINK = "https://doc.toasttab.com/doc/devguide/apiResponseCodes.html"
SEEDED_RESTAURANTS = ("BKN",)


def toast_error(status: int, message: str, *, field_name: str | None = None,
                message_key: str | None = None, can_retry: str | None = None,
                headers: dict | None = None) -> Response:
    """Toast's ErrorMessage body (CONNECTORS.md §1.7)."""
    body = {
        "status": status, "code": status, "message": message,
        "messageKey": message_key or f"error.{status}", "fieldName": field_name,
        "link": ERROR_LINK, "requestId": str(uuid.uuid4()), "developerMessage": message,
        "errors": [],
    }
    if can_retry is not None:
        body["canRetry"] = can_retry
    return Response.json(status, body, headers)


def _webhook_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_toast_time(value: str) -> datetime:
    text = value.strip().replace(" ", "+")  # an unencoded "+0000" arrives as " 0000"
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class StoredOrder:
    doc: dict
    restaurant_guid: str
    created: datetime
    modified: datetime
    lines: list[tuple[str, float]]


@dataclass
class RateBuckets:
    per_second: TokenBucket
    per_window: TokenBucket
    menus: TokenBucket


class ToastEmulator(DepositsMixin, Emulator):
    platform = "toast"

    webhook_max_attempts = 3  # Toast: the first send and two retries (5 and 10 min later)

    # [unverified] the status of a POST that reuses an externalId is not documented.
    duplicate_external_id_status = 409
    # [unverified] whether voiding gives a QUANTITY item its count back.
    restock_on_void = True
    # [unverified] Toast documents 413 for "too many checks" without the number.
    max_checks = 50
    # The spec's POST example answers NEEDS_APPROVAL; restaurants may auto-approve.
    api_approval_status = "NEEDS_APPROVAL"
    # [unverified] the docs say to always send userAccessType; refusing it when missing
    # keeps a client honest.
    require_user_access_type = True
    # [unverified] TOAST-ORD fills `originalProcessingFee` "after the payment is captured";
    # the register's card sales show it at once here (capture is not emulated), at a
    # configurable rate (2.49% + 15c).
    card_fee_after_capture = True
    card_fee_bps = 249
    card_fee_fixed = 15

    def card_fee(self, amount: int) -> int:
        return (amount * self.card_fee_bps + 5_000) // 10_000 + self.card_fee_fixed

    token_lifetime_s = 86400
    requests_per_second = 20
    requests_per_window, window_s = 10_000, 900
    menu_reads_per_second = 1

    def __init__(self, *, client_id: str = SECRETS["TOAST_CLIENT_ID"],
                 client_secret: str = SECRETS["TOAST_CLIENT_SECRET"],
                 webhook_secret: str = SECRETS["TOAST_WEBHOOK_SECRET"], **kwargs):
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_secret = webhook_secret
        # Credentials outlive a state reset, as they would at Toast.
        self.tokens: dict[str, float] = {}
        self.logins = 0
        self.buckets: dict[str, RateBuckets] = {}
        super().__init__(**kwargs)

    # -- state -------------------------------------------------------------------------------

    def reset_state(self, seed: bool) -> None:
        now = _webhook_time(datetime.now(UTC))
        self.restaurants: dict[str, Restaurant] = {}
        self.orders: dict[str, StoredOrder] = {}
        self.refunds: list[dict] = []
        self.used_external_ids: dict[str, set[str]] = {}
        self.display_numbers = itertools.count(1)
        for code in SEEDED_RESTAURANTS if seed else ():
            restaurant = build_restaurant(code, seeded_at=now)
            self.restaurants[restaurant.guid] = restaurant
            self.used_external_ids[restaurant.guid] = set()
        self.reset_money()

    def snapshot(self) -> dict:
        return {
            "locations": [{"id": r.guid, "name": r.code} for r in self.restaurants.values()],
            "orders": [self._order_summary(o) for o in self.orders.values()],
            "refunds": list(self.refunds),
            "stock": {
                r.code: {item.sku: self._stock_summary(r.stock[item.guid])
                         for item in r.items.values()}
                for r in self.restaurants.values()
            },
            "payments": [
                {"id": p["guid"], "order_id": o.doc["guid"], "type": p["type"],
                 "amount": to_cents(p["amount"]), "tip": to_cents(p["tipAmount"]),
                 "fee": to_cents(p["originalProcessingFee"] or 0),
                 "paid_business_date": p["paidBusinessDate"]}
                for o in self.orders.values() for c in o.doc["checks"] for p in c["payments"]
            ],
            **self.money_snapshot(),
            "auth": {"logins": self.logins, "tokens": len(self.tokens)},
        }

    def _order_summary(self, order: StoredOrder) -> dict:
        restaurant = self.restaurants.get(order.restaurant_guid)
        return {
            "id": order.doc["guid"], "location": restaurant.code if restaurant else None,
            "source": order.doc["source"], "idempotency_key": order.doc["externalId"],
            "lines": [{"sku": sku, "quantity": _plain(qty)} for sku, qty in order.lines],
            "state": "VOIDED" if order.doc["voided"] else order.doc["approvalStatus"],
            "created_at": order.created.isoformat(),
            "total": sum(to_cents(c["totalAmount"]) for c in order.doc["checks"]),
        }

    @staticmethod
    def _stock_summary(entry: StockEntry) -> dict:
        quantity = None if entry.quantity is None else _plain(entry.quantity)
        return {"quantity": quantity, "available": entry.status != OUT_OF_STOCK,
                "status": entry.status}

    # -- routes ------------------------------------------------------------------------------

    def routes(self):
        guid = r"(?P<guid>[^/]+)"
        return [
            ("POST", r"/authentication/v1/authentication/login", self.login),
            ("GET", r"/menus/v2/menus", self.get_menus),
            ("GET", r"/menus/v2/metadata", self.get_menu_metadata),
            ("GET", r"/config/v2/diningOptions", self.get_dining_options),
            ("POST", r"/orders/v2/orders", self.post_order),
            ("POST", r"/orders/v2/prices", self.post_prices),
            ("GET", r"/orders/v2/ordersBulk", self.get_orders_bulk),
            ("GET", r"/orders/v2/payments", self.list_payment_guids),
            ("GET", rf"/orders/v2/payments/{guid}", self.get_payment),
            ("GET", rf"/restaurants/v1/restaurants/{guid}", self.get_restaurant),
            ("GET", rf"/orders/v2/orders/{guid}", self.get_order),
            ("POST", rf"/orders/v2/orders/{guid}/void", self.void_order),
            ("GET", r"/stock/v1/inventory", self.get_inventory),
            ("POST", r"/stock/v1/inventory/search", self.search_inventory),
            ("PUT", r"/stock/v1/inventory/update", self.update_inventory),
        ]

    # -- auth, limits, error shapes ------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        if request.path == "/authentication/v1/authentication/login":
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self.lock:
            expires = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if expires is None or expires < time.time():
            return toast_error(401, "Authentication required: a valid bearer token",
                               message_key="error.unauthorized")
        restaurant_guid = request.headers.get(RESTAURANT_HEADER)
        if not restaurant_guid:
            return toast_error(400, f"Missing required header {RESTAURANT_HEADER}",
                               field_name=RESTAURANT_HEADER)
        try:
            uuid.UUID(restaurant_guid)
        except ValueError:
            return toast_error(400, f"{RESTAURANT_HEADER} must be a GUID",
                               field_name=RESTAURANT_HEADER)
        if restaurant_guid not in self.restaurants:
            return toast_error(401, "The client is not authorized for this restaurant",
                               message_key="error.restaurant.unauthorized")
        return None

    def _buckets(self, request: Request) -> RateBuckets:
        # Counted per restaurant when the header names one, otherwise per caller (login).
        key = request.headers.get(RESTAURANT_HEADER)
        with self.lock:
            key = key if key in self.restaurants else "caller"
            if key not in self.buckets:
                self.buckets[key] = RateBuckets(
                    per_second=TokenBucket(self.requests_per_second, self.requests_per_second),
                    per_window=TokenBucket(self.requests_per_window / self.window_s,
                                           self.requests_per_window),
                    menus=TokenBucket(self.menu_reads_per_second, self.menu_reads_per_second),
                )
            return self.buckets[key]

    def check_rate_limit(self, request: Request) -> float | None:
        buckets = self._buckets(request)
        if request.path == "/menus/v2/menus":
            wait = buckets.menus.take()
            if wait:
                request.toast_limit_by = "ENDPOINT"
                return wait
        for bucket in (buckets.per_second, buckets.per_window):
            wait = bucket.take()
            if wait:
                request.toast_limit_by = "GLOBAL"
                return wait
        return None

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if not request.path.startswith("/__emulator/"):
            response.headers.update(self._rate_headers(request))
        return response

    def _rate_headers(self, request: Request) -> dict:
        buckets = self._buckets(request)
        limited_by = getattr(request, "toast_limit_by", "GLOBAL")
        bucket = buckets.menus if limited_by == "ENDPOINT" else buckets.per_second
        available = bucket.available
        reset = time.time() + (bucket.capacity - available) / bucket.rate
        return {
            "X-Toast-RateLimit-By": limited_by,
            "X-Toast-RateLimit-Remaining": str(max(0, math.floor(available))),
            "X-Toast-RateLimit-Reset": str(math.ceil(reset)),
        }

    def rate_limit_response(self, request: Request, retry_after: float) -> Response:
        return toast_error(429, "Rate limit exceeded", message_key="error.rate.limit",
                           headers={"Retry-After": format_retry_after(math.ceil(retry_after))})

    def error_response(self, request: Request, status: int) -> Response:
        return toast_error(status, "An internal error occurred; quote the requestId")

    def bad_json_response(self, request: Request, error) -> Response:
        return toast_error(400, f"The request body is not valid JSON: {error}")

    def not_found_response(self, request: Request) -> Response:
        return toast_error(404, f"No resource at {request.method} {request.path}")

    def webhook_attempt_headers(self, headers: dict, attempt: int, last_result) -> dict:
        headers["Toast-Attempt-Number"] = str(attempt)
        return headers

    # -- authentication ------------------------------------------------------------------------

    def login(self, request: Request) -> Response:
        body = request.json_object()
        client_id, client_secret = body.get("clientId"), body.get("clientSecret")
        if not isinstance(client_id, str) or not isinstance(client_secret, str):
            return toast_error(400, "clientId and clientSecret are required", can_retry="false")
        if self.require_user_access_type and body.get("userAccessType") != "TOAST_MACHINE_CLIENT":
            return toast_error(400, "userAccessType must be TOAST_MACHINE_CLIENT",
                               field_name="userAccessType", can_retry="false")
        if not (_same(client_id, self.client_id) & _same(client_secret, self.client_secret)):
            return toast_error(401, "Invalid client credentials",
                               message_key="error.authentication.invalid", can_retry="false")
        token = self._issue_token(client_id)
        return Response.json(200, {
            "token": {"tokenType": "Bearer", "scope": None, "expiresIn": self.token_lifetime_s,
                      "accessToken": token, "idToken": secrets.token_urlsafe(24),
                      "refreshToken": secrets.token_urlsafe(24)},
            "status": "SUCCESS",
        })

    def _issue_token(self, client_id: str) -> str:
        issued = int(time.time())
        claims = {"sub": client_id, "iat": issued, "exp": issued + self.token_lifetime_s,
                  "jti": str(uuid.uuid4()),
                  "scope": "config:read menus:read orders.orders:write orders:read "
                           "orders.items:write stock:read stock:write"}
        token = ".".join(_b64url(json.dumps(part).encode()) for part in
                         ({"alg": "HS256", "typ": "JWT"}, claims)) + "." + _b64url(
                             secrets.token_bytes(32))
        self.tokens[token] = claims["exp"]
        self.logins += 1
        return token

    # -- menus and configuration ---------------------------------------------------------------

    def _restaurant(self, request: Request) -> Restaurant:
        return self.restaurants[request.headers[RESTAURANT_HEADER]]

    def get_menus(self, request: Request) -> Response:
        return Response.json(200, menus_document(self._restaurant(request)))

    def get_menu_metadata(self, request: Request) -> Response:
        restaurant = self._restaurant(request)
        return Response.json(200, {"restaurantGuid": restaurant.guid,
                                   "lastUpdated": restaurant.last_updated})

    def get_dining_options(self, request: Request) -> Response:
        return Response.json(200, list(self._restaurant(request).dining_options))

    # -- orders --------------------------------------------------------------------------------

    def post_order(self, request: Request) -> Response:
        return self._order_request(request, store=True)

    def post_prices(self, request: Request) -> Response:
        return self._order_request(request, store=False)

    def _order_request(self, request: Request, *, store: bool) -> Response:
        content_type = request.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            return toast_error(415, "Content-Type must be application/json")
        body = request.json_object()
        restaurant = self._restaurant(request)
        try:
            order = self._create_order(restaurant, body, source="API", store=store,
                                       approval_status=self.api_approval_status)
        except OrderRejected as exc:
            return toast_error(exc.status, exc.message, field_name=exc.field_name)
        return Response.json(200, order)

    def _create_order(self, restaurant: Restaurant, body: dict, *, source: str, store: bool,
                      approval_status: str, tender: str | None = None, tip: int = 0,
                      tax_percentage: Decimal | None = None, discount: int = 0,
                      created: datetime | None = None) -> dict:
        dining_option = validate_order(restaurant, body, max_checks=self.max_checks)
        checks = [price_selections(restaurant, check, f"checks[{index}]")
                  for index, check in enumerate(body["checks"])]
        if store:
            self._claim_external_ids(restaurant, external_ids(body, checks))
        ctx = OrderContext(restaurant=restaurant, dining_option=dining_option,
                           now=created or datetime.now(UTC), source=source,
                           approval_status=approval_status)
        doc = order_document(ctx, body, checks, lambda: str(next(self.display_numbers)))
        if discount:
            apply_check_discount(doc, discount)
        if tax_percentage is not None:
            apply_check_tax(doc, tax_percentage)
        if tender is not None:
            register_payment(ctx, doc, tender, tip=tip,
                             fee=self.card_fee if self.card_fee_after_capture else None)
        if store:
            self._store_order(restaurant, doc, checks, ctx.now)
        return doc

    def _claim_external_ids(self, restaurant: Restaurant, ids: list[str]) -> None:
        used = self.used_external_ids[restaurant.guid]
        clash = next((v for v in ids if v in used), None)
        if clash is None and len(set(ids)) < len(ids):
            clash = next(v for v in ids if ids.count(v) > 1)
        if clash is not None:
            raise OrderRejected(self.duplicate_external_id_status,
                                f"externalId {clash!r} is already in use", "externalId")
        used.update(ids)

    def _store_order(self, restaurant: Restaurant, doc: dict,
                     checks: list[list[PricedSelection]], now: datetime) -> None:
        selections = [s for check in checks for s in check]
        self.orders[doc["guid"]] = StoredOrder(
            # A backdated sale is still a change a poller of ordersBulk must see now.
            doc=doc, restaurant_guid=restaurant.guid, created=now, modified=max(now, datetime.now(UTC)),
            lines=[(s.item.sku, float(s.quantity)) for s in selections],
        )
        for selection in selections:
            self._adjust_count(restaurant, selection.item, -float(selection.quantity))

    def _order_for(self, request: Request) -> StoredOrder | None:
        order = self.orders.get(request.params["guid"])
        if order is None or order.restaurant_guid != request.headers[RESTAURANT_HEADER]:
            return None
        return order

    def get_order(self, request: Request) -> Response:
        order = self._order_for(request)
        if order is None:
            return toast_error(404, f"Order {request.params['guid']} not found")
        return Response.json(200, order.doc)

    def get_orders_bulk(self, request: Request) -> Response:
        try:
            matches = self._bulk_filter(request)
            page_size = int(request.arg("pageSize", "100"))
            page = int(request.arg("page", "1"))
        except ValueError as exc:
            return toast_error(400, f"Invalid query parameter: {exc}")
        if not 1 <= page_size <= 100 or page < 1:
            return toast_error(400, "pageSize must be 1..100 and page at least 1")
        start = (page - 1) * page_size
        return Response.json(200, [o.doc for o in matches[start:start + page_size]])

    def _bulk_filter(self, request: Request) -> list[StoredOrder]:
        restaurant_guid = request.headers[RESTAURANT_HEADER]
        orders = [o for o in self.orders.values() if o.restaurant_guid == restaurant_guid]
        # ASSUMPTION: Toast documents a GET by externalId without a path we could verify;
        # this emulator (and ToastClient) put it on ordersBulk as `?externalId=`.
        external_id = request.arg("externalId")
        if external_id is not None:
            return [o for o in orders if o.doc["externalId"] == external_id]
        business = request.arg("businessDate")
        start, end = request.arg("startDate"), request.arg("endDate")
        if business is not None:
            if len(business) != 8 or not business.isdigit():
                raise ValueError("businessDate must be yyyyMMdd")
            return [o for o in orders if o.doc["businessDate"] == int(business)]
        if start is None or end is None:
            raise ValueError("give businessDate, or startDate and endDate")
        # [unverified] the range is matched against the order's last modification.
        low, high = _parse_toast_time(start), _parse_toast_time(end)
        return [o for o in orders if low <= o.modified <= high]

    def list_payment_guids(self, request: Request) -> Response:
        """TOAST-ORD `GET /orders/v2/payments`: the GUIDs of the restaurant's payments paid,
        refunded or voided on one business date (exactly one of the three parameters)."""
        given = {name: request.arg(name) for name in
                 ("paidBusinessDate", "refundBusinessDate", "voidBusinessDate") if request.arg(name)}
        if len(given) != 1:
            return toast_error(400, "Give exactly one of paidBusinessDate, refundBusinessDate, "
                                    "voidBusinessDate")
        (name, value), = given.items()
        if len(value) != 8 or not value.isdigit():
            return toast_error(400, f"{name} must be yyyyMMdd", field_name=name)
        return Response.json(200, [p["guid"] for p in self._payments(request)
                                   if _payment_date(p, name) == int(value)])

    def get_payment(self, request: Request) -> Response:
        payment = next((p for p in self._payments(request) if p["guid"] == request.params["guid"]), None)
        if payment is None:
            return toast_error(404, f"Payment {request.params['guid']} not found")
        return Response.json(200, payment)

    def _payments(self, request: Request) -> list[dict]:
        restaurant_guid = request.headers[RESTAURANT_HEADER]
        return [p for o in self.orders.values() if o.restaurant_guid == restaurant_guid
                for c in o.doc["checks"] for p in c["payments"]]

    def get_restaurant(self, request: Request) -> Response:
        """TOAST-RST restaurant: `general.timeZone` and `general.closeoutHour` set the
        business date (PLATFORM_MONEY §5)."""
        restaurant = self.restaurants.get(request.params["guid"])
        if restaurant is None or restaurant.guid != request.headers[RESTAURANT_HEADER]:
            return toast_error(404, f"Restaurant {request.params['guid']} not found")
        return Response.json(200, {
            "guid": restaurant.guid,
            "general": {"name": restaurant.name, "locationName": restaurant.name,
                        "locationCode": restaurant.code, "timeZone": restaurant.timezone,
                        "closeoutHour": restaurant.closeout_hour, "currencyCode": "USD"},
        })

    def void_order(self, request: Request) -> Response:
        order = self._order_for(request)
        if order is None:
            return toast_error(404, f"Order {request.params['guid']} not found")
        if request.body.strip():
            request.json()  # a body, when sent, must at least be JSON
        if not order.doc["voided"]:  # [unverified] a repeated void answers the voided order
            self._void(order)
        return Response.json(200, order.doc)

    def _void(self, order: StoredOrder) -> None:
        restaurant = self.restaurants[order.restaurant_guid]
        now = datetime.now(UTC)
        stamp, day = toast_time(now), business_date(restaurant, now)
        order.doc.update(voided=True, voidDate=stamp, voidBusinessDate=day, modifiedDate=stamp)
        for check in order.doc["checks"]:
            check.update(voided=True, voidDate=stamp, voidBusinessDate=day, modifiedDate=stamp)
            for selection in check["selections"]:
                selection.update(voided=True, voidDate=stamp, voidBusinessDate=day)
                item = restaurant.items.get(selection["item"]["guid"])
                if self.restock_on_void and item is not None:
                    self._adjust_count(restaurant, item, float(selection["quantity"]))
        order.modified = now

    # -- stock ---------------------------------------------------------------------------------

    def get_inventory(self, request: Request) -> Response:
        status = request.arg("status")
        if status is not None and status not in (OUT_OF_STOCK, QUANTITY):
            return toast_error(400, "status must be OUT_OF_STOCK or QUANTITY", field_name="status")
        restaurant = self._restaurant(request)
        found = [
            inventory_document(item, restaurant.stock[item.guid])
            for item in restaurant.items.values()
            if restaurant.stock[item.guid].status != "IN_STOCK"
            and status in (None, restaurant.stock[item.guid].status)
        ]
        return Response.json(200, found)

    def search_inventory(self, request: Request) -> Response:
        body = request.json_object()
        restaurant = self._restaurant(request)
        guids, ml_ids = body.get("guids") or [], body.get("multiLocationIds") or []
        if not isinstance(guids, list) or not isinstance(ml_ids, list):
            return toast_error(400, "guids and multiLocationIds must be lists")
        found = [self._inventory_for(restaurant, guid=g) for g in guids]
        found += [self._inventory_for(restaurant, multi_location_id=m) for m in ml_ids]
        return Response.json(200, found)

    def _inventory_for(self, restaurant: Restaurant, *, guid: str | None = None,
                       multi_location_id: str | None = None) -> dict:
        item = self._find_item(restaurant, guid, multi_location_id)
        if item is None:
            return invalid_inventory_document(guid=guid, multi_location_id=multi_location_id)
        return inventory_document(item, restaurant.stock[item.guid])

    @staticmethod
    def _find_item(restaurant: Restaurant, guid, multi_location_id) -> MenuItem | None:
        if guid is not None:
            return restaurant.items.get(guid)
        return restaurant.item_by_multi_location_id(str(multi_location_id))

    def update_inventory(self, request: Request) -> Response:
        entries = request.json()
        if not isinstance(entries, list):
            return toast_error(400, "The body must be a list of MenuItemInventory")
        for index, entry in enumerate(entries):
            problem = inventory_update_problem(entry)
            if problem:
                return toast_error(400, problem, field_name=f"[{index}]")
        restaurant = self._restaurant(request)
        return Response.json(200, [self._apply_update(restaurant, e) for e in entries])

    def _apply_update(self, restaurant: Restaurant, update: dict) -> dict:
        guid, ml_id = update.get("guid"), update.get("multiLocationId")
        item = self._find_item(restaurant, guid, ml_id)
        if item is None:
            return invalid_inventory_document(guid=guid, multi_location_id=ml_id)

        def apply(entry: StockEntry) -> None:
            entry.eighty_sixed = update["status"] == OUT_OF_STOCK
            entry.quantity = (float(update["quantity"]) if update["status"] == QUANTITY
                              else None)

        self._change_stock(restaurant, item, apply)
        return inventory_document(item, restaurant.stock[item.guid])

    # -- stock changes and their webhooks ------------------------------------------------------

    def _adjust_count(self, restaurant: Restaurant, item: MenuItem, delta: float) -> None:
        """A sale or a void moves a tracked count; an untracked item has none to move."""
        if restaurant.stock[item.guid].quantity is None:
            return

        def apply(entry: StockEntry) -> None:
            entry.quantity += delta

        self._change_stock(restaurant, item, apply)

    def _change_stock(self, restaurant: Restaurant, item: MenuItem, apply) -> None:
        entry = restaurant.stock[item.guid]
        before = (entry.status, entry.reported_quantity)
        apply(entry)
        event_type = stock_event_type(*before, entry)
        if event_type is not None:
            self._send_stock_webhook(restaurant, item, entry, event_type)

    def _send_stock_webhook(self, restaurant: Restaurant, item: MenuItem, entry: StockEntry,
                            event_type: str) -> None:
        timestamp = _webhook_time(datetime.now(UTC))
        details = {"itemGuid": item.guid, "restaurantGuid": restaurant.guid,
                   "status": entry.status}
        if entry.status == QUANTITY:
            details["quantity"] = entry.reported_quantity
        details.update(multiLocationId=item.multi_location_id, versionId=item.guid)
        body = json.dumps({
            "timestamp": timestamp, "eventCategory": "stock", "eventType": event_type,
            "guid": str(uuid.uuid4()), "details": details,
        }, separators=(",", ":")).encode()
        self.send_webhook(body, {
            signatures.HEADER: signatures.sign(self.webhook_secret, body, timestamp),
            "Toast-Event-Type": event_type, "Toast-Event-Category": "stock",
            RESTAURANT_HEADER: restaurant.guid, "Toast-Attempt-Number": "1",
        }, label=f"stock/{event_type} {item.sku}")

    # -- control API -----------------------------------------------------------------------------

    def _restaurant_named(self, location) -> Restaurant:
        for restaurant in self.restaurants.values():
            if location in (restaurant.guid, restaurant.code):
                return restaurant
        raise ControlError(f"unknown location {location!r}", 404)

    def ring_sale(self, body: dict) -> dict:
        """A sale rung up at the Toast register: a fact, accepted even past zero stock."""
        restaurant = self._restaurant_named(body.get("location"))
        tender = body.get("tender") or {}
        try:
            doc = self._create_order(restaurant, sale_order_body(restaurant, body),
                                     source="In Store", store=True,
                                     approval_status="APPROVED", tender=tender.get("type", "card"),
                                     tip=sale_tip(tender), tax_percentage=sale_tax(body),
                                     discount=sale_discount(body), created=optional_instant(body))
        except OrderRejected as exc:
            raise ControlError(exc.message) from exc
        self.record_card_payments(restaurant.guid, doc)
        return {"accepted": True, "order_id": doc["guid"]}

    def set_stock(self, body: dict) -> dict:
        """Staff count or 86 an item at the register; a stock webhook follows."""
        restaurant = self._restaurant_named(body.get("location"))
        item = restaurant.item_by_sku(body.get("sku"))
        if item is None:
            raise ControlError(f"unknown sku {body.get('sku')!r}", 404)
        quantity, available = body.get("quantity", ...), body.get("available", ...)
        if quantity is not ... and quantity is not None and not _is_number(quantity):
            raise ControlError("quantity must be a number or null")

        def apply(entry: StockEntry) -> None:
            if quantity is not ...:
                entry.quantity = None if quantity is None else float(quantity)
            if available is not ...:
                entry.eighty_sixed = not available

        self._change_stock(restaurant, item, apply)
        summary = self._stock_summary(restaurant.stock[item.guid])
        return {"location": restaurant.code, "sku": item.sku, **summary}

    def set_order_state(self, body: dict) -> dict:
        """Staff close a ticket at the register (paid by card in full, `closed`) or void it
        (`voided`/`cancelled`: Toast voids). Toast sends no order webhook in our facts: the
        change moves the order's modifiedDate, for the next poll of ordersBulk to see. A
        voided order cannot change again, nor a closed one be closed again (409); a closed
        one can still be voided, as managers do at the register."""
        order_id, state = order_state_request(body)
        order = self.orders.get(order_id)
        if order is None:
            raise ControlError(f"unknown order {order_id!r}", 404)
        if order.doc["voided"]:
            raise ControlError(f"order {order_id} is voided", 409)
        restaurant = self.restaurants[order.restaurant_guid]
        if state == "closed":
            if order.doc["closedDate"]:
                raise ControlError(f"order {order_id} is already closed", 409)
            now = datetime.now(UTC)
            ctx = OrderContext(restaurant=restaurant, dining_option={}, now=now, source="In Store",
                               approval_status="APPROVED")
            register_payment(ctx, order.doc, "card",
                             fee=self.card_fee if self.card_fee_after_capture else None)
            self.record_card_payments(restaurant.guid, order.doc)
            order.doc["modifiedDate"] = toast_time(now)
            order.modified = now
        else:
            self._void(order)
        return {"order_id": order_id, "voided": order.doc["voided"],
                "closedDate": order.doc["closedDate"]}

    def make_refund(self, body: dict) -> dict:
        """Record a refund made at the register.

        Toast's refund API and any refund webhook are not in our facts: the refund shows
        on the payment (`refundStatus`, `refund`) and moves the order's modifiedDate, so a
        poller of ordersBulk sees it; no webhook is sent.
        """
        order = self.orders.get(body.get("order_id"))
        if order is None:
            raise ControlError(f"unknown order {body.get('order_id')!r}", 404)
        now = optional_instant(body) or datetime.now(UTC)  # a refund may be backdated
        restaurant = self.restaurants[order.restaurant_guid]
        refund_id = refund_payment(restaurant, order.doc, body.get("amount"), now)
        self.record_card_refund(restaurant.guid, order.doc, body["amount"])
        order.modified = max(now, datetime.now(UTC))  # seen by the next poll, even backdated
        refund = {"id": refund_id, "order_id": order.doc["guid"], "amount": body["amount"],
                  "idempotency_key": None, "lines": body.get("lines") or []}
        self.refunds.append(refund)
        return refund


def _payment_date(payment: dict, name: str) -> int | None:
    if name == "paidBusinessDate":
        return payment["paidBusinessDate"]
    if name == "refundBusinessDate":
        return (payment.get("refund") or {}).get("refundBusinessDate")
    return (payment.get("voidInfo") or {}).get("voidBusinessDate")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain(quantity: float) -> int | float:
    return int(quantity) if float(quantity).is_integer() else quantity
