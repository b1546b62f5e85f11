"""A local Square: the endpoints Concord calls, in memory, with Square's webhooks.

Endpoints and shapes follow SQ-SPEC (`square/connect-api-specification` api.json,
Square-Version 2025-08-20) and the examples in fixtures/platforms/square_*.json; the facts
behind the behaviour are in CONNECTORS.md §2. Guesses are marked [unverified].

Served:
- GET  /v2/locations, /v2/locations/{id}
- GET  /v2/catalog/list (types, cursor; 100 per page), /v2/catalog/object/{id},
  POST /v2/catalog/batch-retrieve
- POST /v2/orders (idempotent), GET /v2/orders/{id}, PUT /v2/orders/{id} (UpdateOrder: cancel),
  POST /v2/orders/batch-retrieve,
  POST /v2/orders/search
- POST /v2/inventory/counts/batch-retrieve (+ deprecated /v2/inventory/batch-retrieve-counts),
  POST /v2/inventory/changes/batch-create (+ deprecated /v2/inventory/batch-change),
  GET  /v2/inventory/{catalog_object_id}
- POST /v2/refunds (idempotent), GET /v2/refunds/{id}, GET /v2/payments/{id},
  GET /v2/customers/{id}
- GET /v2/payments, /v2/refunds (lists), /v2/payouts, /v2/payouts/{id},
  /v2/payouts/{id}/payout-entries, with payout.sent / payout.paid webhooks (payouts.py)
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from apps.demo import demo_data
from apps.demo.dev_credentials import SECRETS, platform_location_id
from apps.emulators.base import (
    BadJson,
    ControlError,
    Emulator,
    Request,
    Response,
    TokenBucket,
    format_retry_after,
    order_state_request,
)

from . import control, signatures
from .catalog import KNOWN_TYPES, TOP_LEVEL_TYPES, Catalog, build_catalog, render
from .inventory import Change, ChangeValidator, StockCell
from .orders import OrderBuilder
from .payouts import PayoutsMixin
from .refunds import RefundsMixin
from .search import search_orders
from .support import (
    MERCHANT_ID,
    IdempotencyStore,
    SquareError,
    decode_cursor,
    encode_cursor,
    invalid,
    missing,
    money,
    not_found,
    now,
    parse_rfc3339,
    random_id,
    require_idempotency_key,
    rfc3339,
)

SQUARE_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")
BUSINESS_NAME = "Mission Street Kitchen & Market"


class SquareEmulator(PayoutsMixin, RefundsMixin, Emulator):
    platform = "square"

    access_token = SECRETS["SQUARE_ACCESS_TOKEN"]
    signature_key = SECRETS["SQUARE_WEBHOOK_SIGNATURE_KEY"]
    environment = "Sandbox"  # the `square-environment` header
    # [unverified] A card's processing fee: Square fills `Tender.processing_fee_money`
    # "about ten seconds" after the payment; the emulator shows it at once unless told not
    # to. The rates (`card_fee_bps`/`card_fee_fixed` in person, `online_fee_*`) are in
    # payouts.py, configurable.
    card_fee_shown_at_once = True
    app_name = "Concord"  # Square's default `source.name` is the calling app's name
    requests_per_second = 50.0  # Square publishes no number; CONNECTORS.md: 2-50 req/s
    refund_settle_s = 0.05  # PENDING -> COMPLETED delay for refunds
    page_size = 100  # ListCatalog

    def __init__(self, **kwargs):
        self.bucket = TokenBucket(self.requests_per_second, self.requests_per_second)
        self.generation = 0
        super().__init__(**kwargs)

    # -- state -------------------------------------------------------------------------------

    def reset_state(self, seed: bool) -> None:
        self.generation += 1
        started = now()
        self.locations: dict[str, dict] = {}
        if seed:
            oak = next(loc for loc in demo_data.LOCATIONS if loc["code"] == "OAK")
            self._add_location(oak, started)
        self.catalog_version = int(started.timestamp() * 1000)
        self.catalog_updated_at = rfc3339(started)
        self.catalog = (build_catalog(version=self.catalog_version, updated_at=self.catalog_updated_at,
                                      location_ids=list(self.locations))
                        if seed else Catalog())
        self.stock: dict[tuple[str, str], StockCell] = {}
        if seed:
            self._seed_stock(started)
        self.orders: dict[str, dict] = {}
        self.order_keys: dict[str, str | None] = {}
        self.payments: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.refund_keys: dict[str, str | None] = {}
        self.customers: dict[str, dict] = {}
        self.idempotency = IdempotencyStore()
        self.reset_money()
        self.bucket.reset()

    def _add_location(self, location: dict, created) -> None:
        location_id = platform_location_id("square", location["code"])
        self.locations[location_id] = {
            "id": location_id, "name": location["code"], "merchant_id": MERCHANT_ID,
            "business_name": BUSINESS_NAME, "status": "ACTIVE", "type": "PHYSICAL",
            "currency": demo_data.CURRENCY, "country": "US", "language_code": "en-US",
            "timezone": location["timezone"], "capabilities": ["CREDIT_CARD_PROCESSING"],
            "created_at": rfc3339(created),
        }

    def _seed_stock(self, started) -> None:
        opened = started - timedelta(hours=1)  # the opening count predates anything Concord sends
        for location_id, location in self.locations.items():
            for sku, variation in self.catalog.variation_by_sku.items():
                quantity = demo_data.opening_stock(location["name"], sku)
                self.stock[(location_id, variation["id"])] = StockCell(
                    location_id, variation["id"], base=_decimal(quantity), base_at=opened,
                    calculated_at=started)

    def snapshot(self) -> dict:
        return {
            "locations": [{"id": loc["id"], "name": loc["name"]} for loc in self.locations.values()],
            "orders": [self._order_summary(order) for order in self.orders.values()],
            "refunds": [{"id": r["id"], "order_id": r["order_id"],
                         "amount": r["amount_money"]["amount"], "status": r["status"],
                         "idempotency_key": self.refund_keys.get(r["id"])}
                        for r in self.refunds.values()],
            "stock": self._stock_summary(),
            "payments": [{"id": p["id"], "order_id": p["order_id"],
                          "amount": p["amount_money"]["amount"], "status": p["status"],
                          "refunded": p.get("refunded_money", money(0))["amount"]}
                         for p in self.payments.values()],
            **self.money_snapshot(),
        }

    def _order_summary(self, order: dict) -> dict:
        lines = [{"sku": self._sku_of(line.get("catalog_object_id")), "quantity": int(line["quantity"])}
                 for line in order["line_items"]]
        return {"id": order["id"], "location": self.locations[order["location_id"]]["name"],
                "source": order["source"]["name"], "idempotency_key": self.order_keys.get(order["id"]),
                "lines": lines, "state": order["state"], "created_at": order["created_at"]}

    def _stock_summary(self) -> dict:
        summary: dict[str, dict] = {loc["name"]: {} for loc in self.locations.values()}
        for (location_id, variation_id), cell in self.stock.items():
            quantity = cell.quantity
            summary[self.locations[location_id]["name"]][self._sku_of(variation_id)] = {
                "quantity": int(quantity) if quantity == int(quantity) else float(quantity),
                "available": not cell.sold_out,
            }
        return summary

    def _sku_of(self, variation_id: str | None) -> str | None:
        variation = self.catalog.by_id.get(variation_id or "")
        return variation["item_variation_data"]["sku"] if variation else None

    # -- platform plumbing -------------------------------------------------------------------

    def routes(self):
        routes = [
            ("GET", r"/v2/locations", self.list_locations),
            ("GET", r"/v2/locations/(?P<location_id>[^/]+)", self.retrieve_location),
            ("GET", r"/v2/catalog/list", self.list_catalog),
            ("GET", r"/v2/catalog/object/(?P<object_id>[^/]+)", self.retrieve_catalog_object),
            ("POST", r"/v2/catalog/batch-retrieve", self.batch_retrieve_catalog_objects),
            ("POST", r"/v2/orders", self.create_order),
            ("POST", r"/v2/orders/batch-retrieve", self.batch_retrieve_orders),
            ("POST", r"/v2/orders/search", self.search_orders),
            ("GET", r"/v2/orders/(?P<order_id>[^/]+)", self.retrieve_order),
            ("PUT", r"/v2/orders/(?P<order_id>[^/]+)", self.update_order),
            ("POST", r"/v2/inventory/counts/batch-retrieve", self.batch_retrieve_counts),
            ("POST", r"/v2/inventory/batch-retrieve-counts", self.batch_retrieve_counts),
            ("POST", r"/v2/inventory/changes/batch-create", self.batch_change_inventory),
            ("POST", r"/v2/inventory/batch-change", self.batch_change_inventory),
            ("GET", r"/v2/inventory/(?P<object_id>[^/]+)", self.retrieve_inventory_count),
            ("POST", r"/v2/refunds", self.refund_payment),
            ("GET", r"/v2/refunds/(?P<refund_id>[^/]+)", self.retrieve_refund),
            ("GET", r"/v2/payments/(?P<payment_id>[^/]+)", self.retrieve_payment),
            ("GET", r"/v2/customers/(?P<customer_id>[^/]+)", self.retrieve_customer),
            *self.money_routes(),
        ]
        return [(method, path, self._answering_errors(handler)) for method, path, handler in routes]

    @staticmethod
    def _answering_errors(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            try:
                return handler(request)
            except SquareError as error:
                return Response.json(error.status, error.body())
        return answer

    def authenticate(self, request: Request) -> Response | None:
        if request.headers.get("Authorization", "") != f"Bearer {self.access_token}":
            return Response.json(401, SquareError(
                401, "AUTHENTICATION_ERROR", "UNAUTHORIZED",
                "This request could not be authorized.").body())
        version = request.headers.get("Square-Version")
        if version is not None and not SQUARE_VERSION.fullmatch(version):
            return Response.json(400, invalid(
                "INVALID_SQUARE_VERSION_FORMAT", f"Invalid Square-Version `{version}`.").body())
        return None

    def check_rate_limit(self, request: Request) -> float | None:
        return self.bucket.take() or None

    def rate_limit_response(self, request: Request, retry_after: float) -> Response:
        # Square documents RATE_LIMITED but not Retry-After [unverified]; the fault API promises it.
        body = SquareError(429, "RATE_LIMIT_ERROR", "RATE_LIMITED",
                           "Request rate limit exceeded. Please retry later.").body()
        return Response.json(429, body, {"Retry-After": format_retry_after(retry_after)})

    def error_response(self, request: Request, status: int) -> Response:
        if status == 400:
            return Response.json(400, invalid("BAD_REQUEST", "Bad request.").body())
        code = "SERVICE_UNAVAILABLE" if status == 503 else "INTERNAL_SERVER_ERROR"
        return Response.json(status, SquareError(
            status, "API_ERROR", code, "An internal error has occurred.").body())

    def bad_json_response(self, request: Request, error: BadJson) -> Response:
        # [unverified] the exact code Square answers malformed JSON with.
        return Response.json(400, invalid("BAD_REQUEST", f"Invalid JSON body: {error}").body())

    def not_found_response(self, request: Request) -> Response:
        return Response.json(404, not_found(f"Resource not found: {request.method} {request.path}").body())

    def webhook_attempt_headers(self, headers: dict, attempt: int, last_result) -> dict:
        headers["square-retry-number"] = str(attempt - 1)
        if attempt > 1:
            # [unverified] Square's reason vocabulary.
            headers["square-retry-reason"] = (
                f"http_status_{last_result}" if isinstance(last_result, int) else "connection_error")
        return headers

    # -- locations and catalog --------------------------------------------------------------------

    def list_locations(self, request: Request) -> Response:
        return Response.json(200, {"locations": list(self.locations.values())})

    def retrieve_location(self, request: Request) -> Response:
        location = self.locations.get(request.params["location_id"])
        if location is None:
            raise not_found(f"Location `{request.params['location_id']}` not found.")
        return Response.json(200, {"location": location})

    def list_catalog(self, request: Request) -> Response:
        types = _catalog_types(request.arg("types"))
        matching = self.catalog.of_type(types)
        start = decode_cursor(request.arg("cursor"), len(matching))
        page = matching[start:start + self.page_size]
        sold_out = self._sold_out_map()
        body: dict = {}
        if page:
            body["objects"] = [render(obj, sold_out) for obj in page]
        if start + self.page_size < len(matching):
            body["cursor"] = encode_cursor(start + self.page_size)
        return Response.json(200, body)

    def retrieve_catalog_object(self, request: Request) -> Response:
        obj = self.catalog.by_id.get(request.params["object_id"])
        if obj is None:
            raise not_found(f"Object `{request.params['object_id']}` not found.", "object_id")
        return Response.json(200, {"object": render(obj, self._sold_out_map())})

    def batch_retrieve_catalog_objects(self, request: Request) -> Response:
        """BatchRetrieveCatalogObjects: the objects found, unknown ids left out [SQ-SPEC]."""
        object_ids = request.json_object().get("object_ids")
        if not isinstance(object_ids, list) or not object_ids:
            raise missing("object_ids")
        sold_out = self._sold_out_map()
        found = [render(self.catalog.by_id[i], sold_out) for i in object_ids
                 if isinstance(i, str) and i in self.catalog.by_id]
        return Response.json(200, {"objects": found} if found else {})

    def _sold_out_map(self) -> dict[tuple[str, str], bool]:
        return {key: cell.sold_out for key, cell in self.stock.items()}

    # -- orders --------------------------------------------------------------------------------

    def create_order(self, request: Request) -> Response:
        body = request.json_object()
        return self._idempotent("orders", body, 192, lambda key: self._create_order(body, key))

    def _create_order(self, body: dict, key: str) -> tuple[int, dict]:
        if "order" not in body:
            raise missing("order")
        order = self.builder().build(body["order"], order_id=random_id(), created_at=now())
        self.store_order(order, key)
        return 200, {"order": order}

    def builder(self) -> OrderBuilder:
        return OrderBuilder(catalog=self.catalog, location_ids=set(self.locations),
                            default_source=self.app_name)

    def store_order(self, order: dict, key: str | None) -> None:
        """Keep the order, take its items out of stock (as a sale does) and tell Concord."""
        self.orders[order["id"]] = order
        self.order_keys[order["id"]] = key
        self.order_event("order.created", order)
        changes = [
            Change("delta", order["location_id"], line["catalog_object_id"],
                   -_decimal(line["quantity"]), now())
            for line in order["line_items"] if line.get("catalog_object_id")
        ]
        self.apply_changes(changes, ignore_unchanged=False)

    def retrieve_order(self, request: Request) -> Response:
        order = self.orders.get(request.params["order_id"])
        if order is None:
            raise not_found(f"Order `{request.params['order_id']}` not found.")
        return Response.json(200, {"order": order})

    def update_order(self, request: Request) -> Response:
        body = request.json_object()
        order_id = request.params["order_id"]
        return self._idempotent(f"orders/{order_id}", body, 192,
                                lambda key: control.update_order(self, order_id, body))

    def batch_retrieve_orders(self, request: Request) -> Response:
        body = request.json_object()
        order_ids = body.get("order_ids")
        if not isinstance(order_ids, list) or not order_ids:
            raise missing("order_ids")
        if len(order_ids) > 100:
            raise invalid("ARRAY_LENGTH_TOO_LONG", "At most 100 order ids.", "order_ids")
        location_id = body.get("location_id")
        found = [self.orders[oid] for oid in order_ids if oid in self.orders
                 and location_id in (None, self.orders[oid]["location_id"])]
        return Response.json(200, {"orders": found} if found else {})

    def search_orders(self, request: Request) -> Response:
        return Response.json(200, search_orders(request.json_object(), list(self.orders.values())))

    # -- inventory -------------------------------------------------------------------------------

    def batch_retrieve_counts(self, request: Request) -> Response:
        body = request.json_object()
        cells = self._matching_cells(body)
        limit = body.get("limit", 1000)
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise invalid("INVALID_VALUE", "limit must be between 1 and 1000.", "limit")
        start = decode_cursor(body.get("cursor"), len(cells))
        page = cells[start:start + limit]
        answer: dict = {"errors": []}
        if page:
            answer["counts"] = [cell.count() for cell in page]
        if start + limit < len(cells):
            answer["cursor"] = encode_cursor(start + limit)
        return Response.json(200, answer)

    def _matching_cells(self, body: dict) -> list[StockCell]:
        object_ids = body.get("catalog_object_ids")
        location_ids = body.get("location_ids")
        states = body.get("states")
        updated_after = body.get("updated_after")
        after = None
        if updated_after is not None:
            after = parse_rfc3339(updated_after)
            if after is None:
                raise invalid("INVALID_TIME", "Invalid RFC 3339 timestamp.", "updated_after")
        if states is not None and "IN_STOCK" not in states:
            return []  # only IN_STOCK counts are kept
        return [cell for cell in self.stock.values()
                if (not object_ids or cell.variation_id in object_ids)
                and (not location_ids or cell.location_id in location_ids)
                and (after is None or cell.calculated_at > after)]

    def retrieve_inventory_count(self, request: Request) -> Response:
        object_id = request.params["object_id"]
        location_ids = [v for arg in request.query.get("location_ids", []) for v in arg.split(",") if v]
        counts = [cell.count() for cell in self.stock.values() if cell.variation_id == object_id
                  and (not location_ids or cell.location_id in location_ids)]
        return Response.json(200, {"counts": counts} if counts else {})

    def batch_change_inventory(self, request: Request) -> Response:
        body = request.json_object()
        return self._idempotent("inventory", body, 128, lambda key: self._change_inventory(body))

    def _change_inventory(self, body: dict) -> tuple[int, dict]:
        validator = ChangeValidator(variation_ids={v["id"] for v in self.catalog.variation_by_sku.values()},
                                    location_ids=set(self.locations), received_at=now())
        changes = validator.validate(body.get("changes"))
        ignore_unchanged = body.get("ignore_unchanged_counts", True) is not False
        touched = self.apply_changes(changes, ignore_unchanged=ignore_unchanged)
        return 200, {"counts": [cell.count() for cell in touched], "errors": []}

    def apply_changes(self, changes: list[Change], *, ignore_unchanged: bool) -> list[StockCell]:
        """Apply validated changes; send one inventory.count.updated for those that moved a count."""
        received = now()
        touched: dict[tuple[str, str], StockCell] = {}
        moved: dict[tuple[str, str], StockCell] = {}
        for change in changes:
            cell = self.stock_cell(change.location_id, change.variation_id, received)
            touched[(cell.location_id, cell.variation_id)] = cell
            before = cell.quantity
            if change.kind == "count":
                if ignore_unchanged and change.quantity == before:
                    continue
                recorded = cell.physical_count(change.quantity, change.occurred_at, received)
            else:
                recorded = cell.adjust(change.quantity, change.occurred_at, received)
            if recorded:
                moved[(cell.location_id, cell.variation_id)] = cell
        if moved:
            self.send_event("inventory.count.updated", "inventory_counts", str(uuid.uuid4()),
                        {"inventory_counts": [cell.count() for cell in moved.values()]})
        return list(touched.values())

    def stock_cell(self, location_id: str, variation_id: str, received) -> StockCell:
        key = (location_id, variation_id)
        if key not in self.stock:
            self.stock[key] = StockCell(location_id, variation_id, base=_decimal(0),
                                        base_at=received - timedelta(days=3650), calculated_at=received)
        return self.stock[key]

    def retrieve_refund(self, request: Request) -> Response:
        refund = self.refunds.get(request.params["refund_id"])
        if refund is None:
            raise not_found(f"Refund `{request.params['refund_id']}` not found.")
        return Response.json(200, {"refund": refund})

    def retrieve_payment(self, request: Request) -> Response:
        payment = self.payments.get(request.params["payment_id"])
        if payment is None:
            raise not_found(f"Payment `{request.params['payment_id']}` not found.")
        return Response.json(200, {"payment": payment})

    def retrieve_customer(self, request: Request) -> Response:
        customer = self.customers.get(request.params["customer_id"])
        if customer is None:
            raise not_found(f"Customer `{request.params['customer_id']}` not found.")
        return Response.json(200, {"customer": customer})

    # -- idempotency ---------------------------------------------------------------------------

    def _idempotent(self, endpoint: str, body: dict, max_key: int,
                    create: Callable[[str], tuple[int, dict]]) -> Response:
        """Replay the first successful answer for a key and request; a failed request
        leaves the key unused, so the client may retry it (Square returns "the first
        successful response")."""
        key = require_idempotency_key(body, max_key)
        fingerprint = json.dumps(body, sort_keys=True, separators=(",", ":"))
        replay = self.idempotency.replay(endpoint, key, fingerprint)
        if replay is not None:
            return Response.json(*replay)
        status, answer = create(key)
        self.idempotency.remember(endpoint, key, fingerprint, status, answer)
        return Response.json(status, answer)

    # -- webhooks --------------------------------------------------------------------------------

    def order_event(self, event_type: str, order: dict) -> None:
        name = event_type.replace(".", "_")  # order.created -> order_created
        self.send_event(event_type, name, order["id"], {name: {
            "order_id": order["id"], "version": order["version"],
            "location_id": order["location_id"], "state": order["state"],
            "created_at": order["created_at"], "updated_at": order["updated_at"],
        }})

    def send_event(self, event_type: str, data_type: str, data_id: str, obj: dict, *,
                   location_id: str | None = None) -> None:
        created_at = rfc3339(now())
        envelope = {
            "merchant_id": MERCHANT_ID, "type": event_type, "event_id": str(uuid.uuid4()),
            "created_at": created_at, "data": {"type": data_type, "id": data_id, "object": obj},
        }
        if location_id:  # payout events name their location (PLATFORM_MONEY §4.1)
            envelope = {"merchant_id": MERCHANT_ID, "location_id": location_id,
                        **{k: v for k, v in envelope.items() if k != "merchant_id"}}
        body = json.dumps(envelope, separators=(",", ":")).encode()
        headers = {
            signatures.HEADER: signatures.sign(self.signature_key, self.webhook_url, body),
            "square-environment": self.environment,
            "square-initial-delivery-timestamp": created_at,
            "square-retry-number": "0",
            "User-Agent": "Square Connect v2",
        }
        self.send_webhook(body, headers, label=event_type)

    # -- control API ---------------------------------------------------------------------------

    def ring_sale(self, body: dict) -> dict:
        """A sale rung up at the register: always accepted, paid at once, stock may go negative."""
        return control.ring_sale(self, body)

    def set_stock(self, body: dict) -> dict:
        return control.set_stock(self, body)

    def make_refund(self, body: dict) -> dict:
        return control.make_refund(self, body)

    def set_order_state(self, body: dict) -> dict:
        return control.set_order_state(self, *order_state_request(body))

    def resolve_location(self, value: object) -> str:
        for location_id, location in self.locations.items():
            if value in (location_id, location["name"]):
                return location_id
        raise ControlError(f"unknown location {value!r}")


# -- helpers ---------------------------------------------------------------------------------------


def _decimal(value) -> Decimal:
    return Decimal(str(value))


def _catalog_types(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return TOP_LEVEL_TYPES
    types = tuple(part.strip().upper() for part in raw.split(",") if part.strip())
    unknown = [t for t in types if t not in KNOWN_TYPES]
    if unknown:
        raise invalid("INVALID_ENUM_VALUE", f"`{unknown[0]}` is not a valid CatalogObjectType.", "types")
    return types
