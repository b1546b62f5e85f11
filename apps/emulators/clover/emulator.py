"""A local Clover: items, stock, modifier groups, order types and orders, plus webhooks.

Serves the v3 REST endpoints Concord calls under their real paths (CONNECTORS.md §3),
from in-memory state seeded with the demo's Chicago merchant. Every call needs
`Authorization: Bearer <CLOVER_ACCESS_TOKEN>`. Limits are 16 requests/s and 5 in flight
per token; a 429 names the limit in `X-RateLimit-tokenLimit` or
`X-RateLimit-tokenConcurrentLimit`, and concurrency 429s carry `retry-after`. Webhooks
carry ids only (`{"appId", "merchants": {mId: [{objectId, type, ts}]}}`) and the static
`X-Clover-Auth` code. Payments and refunds are listed too (PLATFORM_MONEY §1.3, §2.3);
card deposits and the deposit report are in deposits.py.

Guesses are class attributes, overridable per instance: `webhooks_for_api_writes`, `restock_on_delete`,
`stock_change_touches_item`, `list_newest_first`; the error body `{"message": ...}` is
[unverified] (our facts hold no Clover error example).
"""

from __future__ import annotations

import hmac
import json
import threading
from collections import defaultdict
from datetime import UTC, datetime

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
from .data import (
    BadQuery,
    Item,
    Merchant,
    build_merchant,
    item_document,
    item_stock_document,
    modifier_group_document,
    new_id,
    now_ms,
    parse_expand,
    parse_filters,
    parse_page,
    plain_number,
)
from .deposits import DepositsMixin
from .orders import (
    MAX_LINE_ITEMS,
    Order,
    OrderRejected,
    apply_order_fields,
    build_line_item,
    cart_line_items,
    line_total,
    line_units,
    order_document,
    order_type_id,
    sale_customers,
    sale_tax,
    sale_tip,
)

APP_ID = "CONCORDDEVAPP"  # the demo app's 13-character Clover app id
SEEDED_MERCHANTS = ("CHI",)
ITEM_FILTERS = {"id": str, "name": str, "sku": str, "code": str, "price": int,
                "available": bool, "hidden": bool, "modifiedTime": int,
                "itemStock.quantity": float}
MONEY_FILTERS = {"createdTime": int, "modifiedTime": int, "clientCreatedTime": int}
PAYMENTS_WINDOW_MS = 90 * 24 * 3600 * 1000  # Clover returns at most the last 90 days
ORDER_FILTERS = {"id": str, "title": str, "note": str, "state": str, "paymentState": str,
                 "total": int, "createdTime": int, "modifiedTime": int,
                 "clientCreatedTime": int}


def clover_error(status: int, message: str, headers: dict | None = None) -> Response:
    return Response.json(status, {"message": message}, headers)


class CloverEmulator(DepositsMixin, Emulator):
    platform = "clover"

    requests_per_second = 16  # per token
    concurrent_per_token = 5
    concurrency_retry_after_s = 1.0
    # [unverified] Clover sends webhooks for changes made through its API too.
    webhooks_for_api_writes = True
    # [unverified] whether deleting an order gives its items back to stock.
    restock_on_delete = True
    # [unverified] a stock change moves the item's modifiedTime, so a poller of
    # `items?filter=modifiedTime>=` sees it.
    stock_change_touches_item = True
    # [unverified] lists come newest first.
    list_newest_first = True
    # [unverified] whether `Payment.amount` includes `tipAmount` (PLATFORM_MONEY §0.4).
    payment_amount_includes_tip = False

    def __init__(self, *, access_token: str = SECRETS["CLOVER_ACCESS_TOKEN"],
                 auth_code: str = SECRETS["CLOVER_AUTH_CODE"], app_id: str = APP_ID,
                 **kwargs):
        self.access_token = access_token
        self.auth_code = auth_code
        self.app_id = app_id
        self.in_flight: dict[str, int] = defaultdict(int)
        self._flight_lock = threading.Lock()
        self.buckets: dict[str, TokenBucket] = {}
        super().__init__(**kwargs)

    # -- state -----------------------------------------------------------------------------------

    def reset_state(self, seed: bool) -> None:
        self.merchants: dict[str, Merchant] = {}
        self.orders: dict[str, Order] = {}
        self.refunds: list[dict] = []
        for code in SEEDED_MERCHANTS if seed else ():
            merchant = build_merchant(code)
            self.merchants[merchant.id] = merchant
        self.reset_money()

    def snapshot(self) -> dict:
        return {
            "locations": [{"id": m.id, "name": m.code} for m in self.merchants.values()],
            "orders": [self._order_summary(o) for o in self.orders.values()],
            "refunds": list(self.refunds),
            "stock": {
                m.code: {i.sku: {"quantity": _whole(i.stock_quantity), "available": i.available}
                         for i in m.items.values()}
                for m in self.merchants.values()
            },
            "payments": [{"id": p["id"], "order_id": o.id, "amount": p["amount"],
                          "tip": p["tipAmount"], "created_time": p["createdTime"]}
                         for o in self.orders.values() for p in o.payments],
            **self.money_snapshot(),
        }

    def _order_summary(self, order: Order) -> dict:
        merchant = self.merchants.get(order.merchant_id)
        lines: dict[str, float] = {}
        for line in order.line_items:
            item = merchant.items.get(line.get("item", {}).get("id")) if merchant else None
            if item is not None:
                lines[item.sku] = lines.get(item.sku, 0) + float(line_units(line))
        return {
            "id": order.id, "location": merchant.code if merchant else None,
            "source": order.source, "idempotency_key": None, "title": order.title,
            "lines": [{"sku": sku, "quantity": _whole(q)} for sku, q in lines.items()],
            "state": order.state, "total": order.total,
            "created_at": datetime.fromtimestamp(order.created / 1000, UTC).isoformat(),
        }

    # -- routes ----------------------------------------------------------------------------------

    def routes(self):
        base = r"/v3/merchants/(?P<mid>[^/]+)"
        one = r"(?P<id>[^/]+)"
        return [
            ("GET", rf"{base}/items", self.list_items),
            ("POST", rf"{base}/items", self.create_item),
            ("GET", rf"{base}/items/{one}", self.get_item),
            ("POST", rf"{base}/items/{one}", self.update_item),
            ("GET", rf"{base}/modifier_groups", self.list_modifier_groups),
            ("GET", rf"{base}/item_stocks/{one}", self.get_item_stock),
            ("POST", rf"{base}/item_stocks/{one}", self.set_item_stock),
            ("GET", rf"{base}/order_types", self.list_order_types),
            ("POST", rf"{base}/atomic_order/orders", self.create_atomic_order),
            ("POST", rf"{base}/orders", self.create_order),
            ("GET", rf"{base}/orders", self.list_orders),
            ("GET", rf"{base}/orders/{one}", self.get_order),
            ("POST", rf"{base}/orders/{one}", self.update_order),
            ("DELETE", rf"{base}/orders/{one}", self.delete_order),
            ("POST", rf"{base}/orders/{one}/line_items", self.add_line_item),
            ("GET", rf"{base}/payments", self.list_payments),
            ("GET", rf"{base}/refunds", self.list_refunds),
        ]

    # -- auth, limits, error shapes --------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        valid = scheme.lower() == "bearer" and hmac.compare_digest(
            token.encode(), self.access_token.encode())
        # A token belongs to one merchant: another merchant's id is unauthorized too.
        if not valid or request.params.get("mid") not in self.merchants:
            return clover_error(401, "401 Unauthorized")
        return None

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/__emulator/"):
            return super().handle(request)
        token = request.headers.get("Authorization", "")
        with self._flight_lock:
            self.in_flight[token] += 1
            # Decided on arrival, as Clover admits or refuses a request when it comes in;
            # reported by check_rate_limit so the base counts and answers it.
            request.clover_over_concurrency = self.in_flight[token] > self.concurrent_per_token
        try:
            return super().handle(request)
        finally:
            with self._flight_lock:
                self.in_flight[token] -= 1
                if not self.in_flight[token]:
                    del self.in_flight[token]

    def check_rate_limit(self, request: Request) -> float | None:
        token = request.headers.get("Authorization", "")
        with self._flight_lock:
            bucket = self.buckets.setdefault(
                token, TokenBucket(self.requests_per_second, self.requests_per_second))
        if getattr(request, "clover_over_concurrency", False):
            request.clover_limit = "concurrency"
            return self.concurrency_retry_after_s
        wait = bucket.take()
        if wait:
            request.clover_limit = "rate"
            return wait
        return None

    def rate_limit_response(self, request: Request, retry_after: float) -> Response:
        limit = getattr(request, "clover_limit", None)
        if limit == "rate":  # Clover documents no retry-after on the per-second limit
            headers = {"X-RateLimit-tokenLimit": str(self.requests_per_second)}
        else:  # concurrency, or an injected fault
            headers = {"X-RateLimit-tokenConcurrentLimit": str(self.concurrent_per_token),
                       "retry-after": format_retry_after(retry_after)}
        return clover_error(429, "429 Too Many Requests", headers)

    def error_response(self, request: Request, status: int) -> Response:
        return clover_error(status, f"{status} Internal Server Error")

    def bad_json_response(self, request: Request, error) -> Response:
        return clover_error(400, f"Invalid JSON: {error}")

    def not_found_response(self, request: Request) -> Response:
        return clover_error(404, "404 Not Found")

    # -- helpers shared by handlers ----------------------------------------------------------------

    def _merchant(self, request: Request) -> Merchant:
        return self.merchants[request.params["mid"]]

    @staticmethod
    def _base_url(request: Request) -> str:
        return f"http://{request.headers.get('Host', '127.0.0.1')}"

    def _notify(self, merchant: Merchant, events: list[tuple[str, str]], *,
                from_api: bool = True) -> None:
        """One webhook POST naming what changed (ids only: Concord fetches the entities)."""
        if from_api and not self.webhooks_for_api_writes:
            return
        ts = now_ms()
        body = json.dumps({"appId": self.app_id, "merchants": {merchant.id: [
            {"objectId": object_id, "type": kind, "ts": ts} for object_id, kind in events
        ]}}, separators=(",", ":")).encode()
        label = " ".join(f"{kind} {object_id}" for object_id, kind in events)
        self.send_webhook(body, {signatures.HEADER: self.auth_code}, label=label)

    def _set_quantity(self, item: Item, quantity: float | None) -> None:
        item.stock_quantity = quantity
        if item.auto_manage and quantity is not None:
            item.available = quantity > 0  # autoManage: unavailable at stock 0
        if self.stock_change_touches_item:
            item.modified_time = now_ms()

    def _take_stock(self, merchant: Merchant, lines: list[dict]) -> list[tuple[str, str]]:
        """Sold line items leave stock (it may go negative); the item events to send."""
        touched: dict[str, Item] = {}
        for line in lines:
            item = merchant.items.get(line.get("item", {}).get("id"))
            if item is not None and item.stock_quantity is not None:
                self._set_quantity(item, item.stock_quantity - float(line_units(line)))
                touched[item.id] = item
        return [(f"I:{item_id}", "UPDATE") for item_id in touched]

    # -- items -----------------------------------------------------------------------------------

    def list_items(self, request: Request) -> Response:
        merchant = self._merchant(request)
        try:
            expand = parse_expand(request.query.get("expand", []))
            matches = parse_filters(request.query.get("filter", []), ITEM_FILTERS)
            limit, offset = parse_page(request.arg("limit"), request.arg("offset"))
        except BadQuery as exc:
            return clover_error(400, str(exc))
        found = [i for i in merchant.items.values() if matches(_item_getter(i))]
        page = found[offset:offset + limit]
        base = self._base_url(request)
        return Response.json(200, {
            "elements": [item_document(merchant, i, expand, base) for i in page],
            "href": f"{base}/v3/merchants/{merchant.id}/items?limit={limit}",
        })

    def get_item(self, request: Request) -> Response:
        merchant = self._merchant(request)
        item = merchant.items.get(request.params["id"])
        if item is None:
            return self.not_found_response(request)
        expand = parse_expand(request.query.get("expand", []))
        return Response.json(200, item_document(merchant, item, expand, self._base_url(request)))

    def create_item(self, request: Request) -> Response:
        merchant = self._merchant(request)
        body = request.json_object()
        if not isinstance(body.get("name"), str) or not body["name"]:
            return clover_error(400, "name is required")
        if not _is_int(body.get("price")):
            return clover_error(400, "price is required (cents)")
        item = Item(id=new_id(), name=body["name"], sku="", code="", price=body["price"],
                    category_id=None, modifier_group_ids=[], modified_time=now_ms(),
                    auto_manage=False)
        problem = _apply_item_fields(item, body)
        if problem:
            return clover_error(400, problem)
        merchant.items[item.id] = item
        self._notify(merchant, [(f"I:{item.id}", "CREATE")])
        return Response.json(200, item_document(merchant, item, set(), self._base_url(request)))

    def update_item(self, request: Request) -> Response:
        merchant = self._merchant(request)
        item = merchant.items.get(request.params["id"])
        if item is None:
            return self.not_found_response(request)
        body = request.json_object()
        problem = _apply_item_fields(item, body)
        if problem:
            return clover_error(400, problem)
        item.modified_time = now_ms()
        self._notify(merchant, [(f"I:{item.id}", "UPDATE")])
        return Response.json(200, item_document(merchant, item, set(), self._base_url(request)))

    def list_modifier_groups(self, request: Request) -> Response:
        merchant = self._merchant(request)
        expand = "modifiers" in parse_expand(request.query.get("expand", []))
        base = self._base_url(request)
        return Response.json(200, {
            "elements": [modifier_group_document(merchant, g, expand=expand)
                         for g in merchant.modifier_groups.values()],
            "href": f"{base}/v3/merchants/{merchant.id}/modifier_groups",
        })

    def get_item_stock(self, request: Request) -> Response:
        item = self._merchant(request).items.get(request.params["id"])
        if item is None or item.stock_quantity is None:
            return self.not_found_response(request)
        return Response.json(200, item_stock_document(item))

    def set_item_stock(self, request: Request) -> Response:
        merchant = self._merchant(request)
        item = merchant.items.get(request.params["id"])
        if item is None:
            return self.not_found_response(request)
        quantity = request.json_object().get("quantity")
        if not isinstance(quantity, int | float) or isinstance(quantity, bool):
            return clover_error(400, "quantity is required and must be a number")
        self._set_quantity(item, float(quantity))
        self._notify(merchant, [(f"I:{item.id}", "UPDATE")])
        return Response.json(200, item_stock_document(item))

    def list_order_types(self, request: Request) -> Response:
        merchant = self._merchant(request)
        return Response.json(200, {
            "elements": [dict(t) for t in merchant.order_types.values()],
            "href": f"{self._base_url(request)}/v3/merchants/{merchant.id}/order_types",
        })

    # -- orders ----------------------------------------------------------------------------------

    def _new_order(self, merchant: Merchant, source: str) -> Order:
        stamp = now_ms()
        return Order(id=new_id(), merchant_id=merchant.id, created=stamp, modified=stamp,
                     source=source)

    def _order_for(self, request: Request) -> Order | None:
        order = self.orders.get(request.params["id"])
        return order if order and order.merchant_id == request.params["mid"] else None

    def create_atomic_order(self, request: Request) -> Response:
        merchant = self._merchant(request)
        cart = request.json_object().get("orderCart")
        if not isinstance(cart, dict):
            return clover_error(400, "orderCart is required")
        order = self._new_order(merchant, "api-atomic")
        try:
            order.line_items = cart_line_items(merchant, cart, order.id, order.created)
            order.order_type_id = order_type_id(merchant, cart.get("orderType"))
        except OrderRejected as exc:
            return clover_error(exc.status, exc.message)
        order.title, order.note = cart.get("title"), cart.get("note")
        order.group_line_items = bool(cart.get("groupLineItems", False))
        order.state = "open"
        order.total = sum(line_total(line) for line in order.line_items)  # no tax configured
        self.orders[order.id] = order
        events = self._take_stock(merchant, order.line_items)
        self._notify(merchant, [(f"O:{order.id}", "CREATE"), *events])
        expand = {"lineItems", "lineItems.modifications"}
        return Response.json(200, order_document(order, expand, self._base_url(request)))

    def create_order(self, request: Request) -> Response:
        merchant = self._merchant(request)
        order = self._new_order(merchant, "api")
        try:
            apply_order_fields(order, merchant, request.json_object())
        except OrderRejected as exc:
            return clover_error(exc.status, exc.message)
        self.orders[order.id] = order
        self._notify(merchant, [(f"O:{order.id}", "CREATE")])
        return Response.json(200, order_document(order, set(), self._base_url(request)))

    def update_order(self, request: Request) -> Response:
        merchant = self._merchant(request)
        order = self._order_for(request)
        if order is None:
            return self.not_found_response(request)
        body = request.json_object()
        try:
            # Validate on a copy first so a refused update changes nothing.
            apply_order_fields(Order(**vars(order)), merchant, body)
            apply_order_fields(order, merchant, body)
        except OrderRejected as exc:
            return clover_error(exc.status, exc.message)
        order.modified = now_ms()
        self._notify(merchant, [(f"O:{order.id}", "UPDATE")])
        return Response.json(200, order_document(order, set(), self._base_url(request)))

    def delete_order(self, request: Request) -> Response:
        """`DELETE /v3/merchants/{mId}/orders/{orderId}`. [unverified] Clover refusing to
        delete an order that has payments (they are refunded or voided at the device)."""
        order = self._order_for(request)
        if order is None:
            return self.not_found_response(request)
        if order.payments:
            return clover_error(400, "an order with payments cannot be deleted")
        self._delete(order, from_api=True)
        return Response.json(200, {})

    def _delete(self, order: Order, *, from_api: bool) -> None:
        merchant = self.merchants[order.merchant_id]
        del self.orders[order.id]
        events = self._give_back_stock(merchant, order.line_items) if self.restock_on_delete else []
        self._notify(merchant, [(f"O:{order.id}", "DELETE"), *events], from_api=from_api)

    def _give_back_stock(self, merchant: Merchant, lines: list[dict]) -> list[tuple[str, str]]:
        """A deleted order's line items return to stock; the item events to send."""
        touched: dict[str, Item] = {}
        for line in lines:
            item = merchant.items.get(line.get("item", {}).get("id"))
            if item is not None and item.stock_quantity is not None:
                self._set_quantity(item, item.stock_quantity + float(line_units(line)))
                touched[item.id] = item
        return [(f"I:{item_id}", "UPDATE") for item_id in touched]

    def add_line_item(self, request: Request) -> Response:
        """Custom-order flow: add one line item. Clover does not recompute `total` here."""
        merchant = self._merchant(request)
        order = self._order_for(request)
        if order is None:
            return self.not_found_response(request)
        if len(order.line_items) >= MAX_LINE_ITEMS:
            return clover_error(400, f"an order may hold at most {MAX_LINE_ITEMS} line items")
        try:
            line = build_line_item(merchant, request.json_object(), order.id, now_ms(),
                                   "lineItem")
        except OrderRejected as exc:
            return clover_error(exc.status, exc.message)
        order.line_items.append(line)
        order.modified = now_ms()
        events = self._take_stock(merchant, [line])
        self._notify(merchant, [(f"O:{order.id}", "UPDATE"), *events])
        return Response.json(200, {k: v for k, v in line.items() if k != "modifications"})

    def get_order(self, request: Request) -> Response:
        order = self._order_for(request)
        if order is None:
            return self.not_found_response(request)
        expand = parse_expand(request.query.get("expand", []))
        return Response.json(200, order_document(order, expand, self._base_url(request)))

    def list_orders(self, request: Request) -> Response:
        merchant = self._merchant(request)
        try:
            expand = parse_expand(request.query.get("expand", []))
            matches = parse_filters(request.query.get("filter", []), ORDER_FILTERS)
            limit, offset = parse_page(request.arg("limit"), request.arg("offset"))
        except BadQuery as exc:
            return clover_error(400, str(exc))
        # An order whose state is null is "unfinished": fetchable by id, never listed.
        found = [o for o in self.orders.values()
                 if o.merchant_id == merchant.id and o.state is not None
                 and matches(_order_getter(o))]
        found.sort(key=lambda o: o.created, reverse=self.list_newest_first)
        base = self._base_url(request)
        return Response.json(200, {
            "elements": [order_document(o, expand, base) for o in found[offset:offset + limit]],
            "href": f"{base}/v3/merchants/{merchant.id}/orders?limit={limit}",
        })

    def list_payments(self, request: Request) -> Response:
        """`GET /v3/merchants/{mId}/payments` (PLATFORM_MONEY §1.3): filters on createdTime
        and modifiedTime (epoch ms), limit/offset; without a createdTime filter only the
        last 90 days, as Clover caps it."""
        return self._money_list(request, "payments",
                                lambda o: [(p, {"createdTime": p["createdTime"],
                                                "modifiedTime": p["modifiedTime"],
                                                "clientCreatedTime": p["clientCreatedTime"]})
                                           for p in o.payments])

    def list_refunds(self, request: Request) -> Response:
        """`GET /v3/merchants/{mId}/refunds` (§2.3; the createdTime filter is [unverified])."""
        return self._money_list(request, "refunds",
                                lambda o: [({**r, "payment": dict(r["payment"])},
                                            {"createdTime": r["createdTime"],
                                             "clientCreatedTime": r["clientCreatedTime"]})
                                           for r in o.refunds])

    def _money_list(self, request: Request, name: str, rows_of) -> Response:
        merchant = self._merchant(request)
        filters = request.query.get("filter", [])
        try:
            matches = parse_filters(filters, MONEY_FILTERS)
            limit, offset = parse_page(request.arg("limit"), request.arg("offset"))
        except BadQuery as exc:
            return clover_error(400, str(exc))
        oldest = 0 if any(f.strip().startswith("createdTime") for f in filters) \
            else now_ms() - PAYMENTS_WINDOW_MS
        found = [doc for o in self.orders.values() if o.merchant_id == merchant.id
                 for doc, fields in rows_of(o)
                 if fields["createdTime"] >= oldest and matches(fields.get)]
        found.sort(key=lambda doc: (doc["createdTime"], doc["id"]), reverse=self.list_newest_first)
        base = self._base_url(request)
        return Response.json(200, {"elements": found[offset:offset + limit],
                                   "href": f"{base}/v3/merchants/{merchant.id}/{name}?limit={limit}"})

    # -- control API -----------------------------------------------------------------------------

    def _merchant_named(self, location) -> Merchant:
        for merchant in self.merchants.values():
            if location in (merchant.id, merchant.code):
                return merchant
        raise ControlError(f"unknown location {location!r}", 404)

    def ring_sale(self, body: dict) -> dict:
        """A sale at the Clover register: paid, locked, accepted even past zero stock."""
        merchant = self._merchant_named(body.get("location"))
        order = self._new_order(merchant, "register")
        backdated = optional_instant(body)
        if backdated is not None:  # a sale rung on an earlier day
            order.created = int(backdated.timestamp() * 1000)  # modifiedTime stays now, for pollers
        try:
            order.line_items = [
                build_line_item(merchant, line, order.id, order.created, "line")
                for line in _register_lines(merchant, body.get("lines"))
            ]
        except OrderRejected as exc:
            raise ControlError(exc.message) from exc
        order.state, order.payment_state = "locked", "PAID"
        subtotal = sum(line_total(line) for line in order.line_items)
        tax = sale_tax(subtotal, body.get("tax_percentage"))
        order.total = subtotal + tax
        tender = body.get("tender") or {}
        order.payments.append(_payment(order, tender.get("type", "card"), tip=sale_tip(tender), tax=tax,
                                       amount_includes_tip=self.payment_amount_includes_tip))
        order.customers = sale_customers(body.get("customer"), order.created)
        self.record_card_payment(merchant.id, order.payments[-1])
        self.orders[order.id] = order
        events = self._take_stock(merchant, order.line_items)
        self._notify(merchant, [(f"O:{order.id}", "CREATE"), *events], from_api=False)
        return {"accepted": True, "order_id": order.id}

    def set_stock(self, body: dict) -> dict:
        """Staff recount or 86 an item at the register; an I: UPDATE webhook follows."""
        merchant = self._merchant_named(body.get("location"))
        item = merchant.item_by_sku(body.get("sku"))
        if item is None:
            raise ControlError(f"unknown sku {body.get('sku')!r}", 404)
        if "quantity" in body:
            quantity = body["quantity"]
            if quantity is not None and (not isinstance(quantity, int | float)
                                         or isinstance(quantity, bool)):
                raise ControlError("quantity must be a number or null")
            self._set_quantity(item, None if quantity is None else float(quantity))
        if "available" in body:
            item.available = bool(body["available"])
            item.modified_time = now_ms()
        self._notify(merchant, [(f"I:{item.id}", "UPDATE")], from_api=False)
        return {"location": merchant.code, "sku": item.sku,
                "quantity": _whole(item.stock_quantity), "available": item.available}

    def set_order_state(self, body: dict) -> dict:
        """Staff take payment for an open order at the device (`closed`: paid and locked,
        O: UPDATE follows) or void it (`voided`/`cancelled`: the order is deleted, its items
        back in stock, O: DELETE follows; [unverified] how Clover's own UI voids, modelled on
        the API's delete). A paid, locked order cannot be closed again (409)."""
        order_id, state = order_state_request(body)
        order = self.orders.get(order_id)
        if order is None:
            raise ControlError(f"unknown order {order_id!r}", 404)
        if state != "closed":
            self._delete(order, from_api=False)
            return {"order_id": order_id, "state": "deleted"}
        if order.state == "locked" or order.payment_state not in (None, "OPEN"):
            raise ControlError(f"order {order_id} is already paid", 409)
        order.payments.append(_payment(order, "card"))
        self.record_card_payment(order.merchant_id, order.payments[-1])
        order.state, order.payment_state, order.modified = "locked", "PAID", now_ms()
        self._notify(self.merchants[order.merchant_id], [(f"O:{order.id}", "UPDATE")], from_api=False)
        return {"order_id": order_id, "state": order.state, "paymentState": order.payment_state}

    def make_refund(self, body: dict) -> dict:
        """Record a refund made at the Clover device and send O: UPDATE.

        How an in-store (card-present) payment is refunded through Clover's v3 API is not
        established in our facts, so the emulator only records it on the order
        (`refunds`, `paymentState`, refunded line items) for Concord to fetch.
        """
        order = self.orders.get(body.get("order_id"))
        if order is None:
            raise ControlError(f"unknown order {body.get('order_id')!r}", 404)
        amount = body.get("amount")
        paid = sum(p["amount"] for p in order.payments)
        refunded = sum(r["amount"] for r in order.refunds)
        if not _is_int(amount) or amount <= 0 or amount > paid - refunded:
            raise ControlError(f"amount must be 1..{paid - refunded} cents")
        backdated = optional_instant(body)
        refund = _refund(order, amount, int(backdated.timestamp() * 1000) if backdated else None)
        order.refunds.append(refund)
        self.record_card_refund(order.merchant_id, order.payments[0], refund)
        _mark_refunded(self.merchants[order.merchant_id], order, body.get("lines") or [])
        order.payment_state = "REFUNDED" if refunded + amount >= paid else "PARTIALLY_REFUNDED"
        order.modified = now_ms()
        summary = {"id": refund["id"], "order_id": order.id, "amount": amount,
                   "idempotency_key": None}
        self.refunds.append(summary)
        self._notify(self.merchants[order.merchant_id], [(f"O:{order.id}", "UPDATE")],
                     from_api=False)
        return summary


# -- helpers ---------------------------------------------------------------------------------------


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(quantity: float | None) -> int | float | None:
    return None if quantity is None else plain_number(quantity)


def _item_getter(item: Item):
    values = {"id": item.id, "name": item.name, "sku": item.sku, "code": item.code,
              "price": item.price, "available": item.available, "hidden": item.hidden,
              "modifiedTime": item.modified_time, "itemStock.quantity": item.stock_quantity}
    return values.get


def _order_getter(order: Order):
    values = {"id": order.id, "title": order.title, "note": order.note, "state": order.state,
              "paymentState": order.payment_state, "total": order.total,
              "createdTime": order.created, "modifiedTime": order.modified,
              "clientCreatedTime": order.created}
    return values.get


def _apply_item_fields(item: Item, body: dict) -> str | None:
    """Set the writable fields `body` names; a message if one has the wrong type."""
    expected = {"price": int, "cost": int, "available": bool, "hidden": bool,
                "autoManage": bool}
    for api_name, attribute in Item.WRITABLE.items():
        if api_name not in body:
            continue
        value, kind = body[api_name], expected.get(api_name, str)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"{api_name} must be a {kind.__name__}"
        setattr(item, attribute, value)
    return None


def _register_lines(merchant: Merchant, lines) -> list[dict]:
    """Control-API sale lines as Clover line items: one line item per unit, as the
    register rings them."""
    if not isinstance(lines, list) or not lines:
        raise ControlError("lines must be a non-empty list")
    expanded = []
    for line in lines:
        item = merchant.item_by_sku(line.get("sku") if isinstance(line, dict) else None)
        quantity = line.get("quantity") if isinstance(line, dict) else None
        if item is None or not _is_int(quantity) or quantity <= 0:
            raise ControlError("each line needs a known sku and a positive integer quantity")
        modifications = [{"modifier": {"id": _modifier_id(merchant, item, m)}}
                         for m in line.get("modifiers") or []]
        expanded += [{"item": {"id": item.id}, "modifications": modifications}] * quantity
    return expanded


def _modifier_id(merchant: Merchant, item: Item, modifier: dict) -> str:
    for group_id in item.modifier_group_ids:
        for modifier_id in merchant.modifier_groups[group_id].modifier_ids:
            if merchant.modifiers[modifier_id].sku == modifier.get("sku"):
                return modifier_id
    raise ControlError(f"{modifier.get('sku')!r} is not a modifier of {item.sku}")


def _payment(order: Order, tender: str, *, tip: int = 0, tax: int = 0,
             amount_includes_tip: bool = False) -> dict:
    """CLV-SDK `Payment`: cents; `taxAmount` the part of it that is tax; no fee field."""
    card = tender != "cash"
    return {
        "id": new_id(), "order": {"id": order.id},
        "amount": order.total + (tip if amount_includes_tip else 0), "tipAmount": tip,
        "taxAmount": tax, "result": "SUCCESS", "createdTime": order.created,
        "clientCreatedTime": order.created, "modifiedTime": order.created,
        "tender": {"id": new_id(), "label": "Credit Card" if card else "Cash",
                   "labelKey": "com.clover.tender.credit_card" if card
                   else "com.clover.tender.cash"},
        **({"cardTransaction": {"cardType": "VISA", "entryType": "EMV_CONTACT", "first6": "411111",
                                "last4": "1111", "type": "AUTH", "state": "CLOSED"}} if card else {}),
    }


def _refund(order: Order, amount: int, stamp: int | None = None) -> dict:
    stamp = stamp or now_ms()
    return {"id": new_id(), "orderRef": {"id": order.id},
            "payment": {"id": order.payments[0]["id"]}, "amount": amount, "taxAmount": 0,
            "tipAmount": 0, "createdTime": stamp, "clientCreatedTime": stamp}


def _mark_refunded(merchant: Merchant, order: Order, lines: list) -> None:
    """Flag `quantity` line items of each refunded `sku` as refunded."""
    for line in lines:
        if not isinstance(line, dict):
            continue
        item = merchant.item_by_sku(line.get("sku"))
        remaining = line.get("quantity", 1)
        for line_item in order.line_items:
            if remaining <= 0 or item is None:
                break
            if line_item.get("item", {}).get("id") == item.id and not line_item["refunded"]:
                line_item["refunded"] = True
                remaining -= 1
