"""SearchOrders (`POST /v2/orders/search`) over the emulator's orders.

Fields follow SQ-SPEC `SearchOrdersRequest`, `SearchOrdersQuery`, `SearchOrdersFilter`,
`SearchOrdersDateTimeFilter`, `SearchOrdersSort`. Square's documented rule: when a
date-time filter is used, `sort.sort_field` must name the same field. Defaults
(sort CREATED_AT DESC, limit 500 of at most 1000) are as the reference describes them;
the start of a time range is inclusive and the end exclusive [unverified].
"""

from __future__ import annotations

import base64

from .support import invalid, missing, parse_rfc3339

SORT_FIELDS = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "CLOSED_AT": "closed_at"}
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
MAX_LOCATIONS = 10


def search_orders(body: dict, orders: list[dict]) -> dict:
    location_ids = _location_ids(body)
    query = body.get("query") or {}
    if not isinstance(query, dict):
        raise invalid("INVALID_VALUE", "Expected an object.", "query")
    order_filter = query.get("filter") or {}
    sort_field, descending = _sort(query.get("sort") or {}, order_filter)
    limit = body.get("limit", DEFAULT_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise invalid("INVALID_VALUE", f"limit must be between 1 and {MAX_LIMIT}.", "limit")

    matching = [order for order in orders
                if order["location_id"] in location_ids and _matches(order, order_filter)]
    matching.sort(key=lambda order: (order.get(sort_field) or "", order["id"]), reverse=descending)
    start = _decode_cursor(body.get("cursor"), len(matching))
    page = matching[start:start + limit]

    answer: dict = {}
    if body.get("return_entries"):
        if page:
            answer["order_entries"] = [
                {"order_id": o["id"], "version": o["version"], "location_id": o["location_id"]}
                for o in page
            ]
    elif page:
        answer["orders"] = page
    if start + limit < len(matching):
        answer["cursor"] = _encode_cursor(start + limit)
    return answer


def _location_ids(body: dict) -> set[str]:
    location_ids = body.get("location_ids")
    if not location_ids:
        raise missing("location_ids")
    if not isinstance(location_ids, list) or not all(isinstance(i, str) for i in location_ids):
        raise invalid("INVALID_VALUE", "Expected an array of location ids.", "location_ids")
    if len(location_ids) > MAX_LOCATIONS:
        raise invalid("ARRAY_LENGTH_TOO_LONG", f"At most {MAX_LOCATIONS} location ids.",
                      "location_ids")
    return set(location_ids)


def _sort(sort: dict, order_filter: dict) -> tuple[str, bool]:
    field_name = sort.get("sort_field", "CREATED_AT")
    if field_name not in SORT_FIELDS:
        raise invalid("INVALID_ENUM_VALUE", f"`{field_name}` is not a valid sort field.",
                      "query.sort.sort_field")
    order = sort.get("sort_order", "DESC")
    if order not in ("ASC", "DESC"):
        raise invalid("INVALID_ENUM_VALUE", f"`{order}` is not a valid sort order.",
                      "query.sort.sort_order")
    date_filter = order_filter.get("date_time_filter") or {}
    used = [name for name in SORT_FIELDS.values() if date_filter.get(name)]
    if used and used != [SORT_FIELDS[field_name]]:
        raise invalid("INVALID_VALUE",
                      "sort_field must match the field used in date_time_filter.",
                      "query.sort.sort_field")
    return SORT_FIELDS[field_name], order == "DESC"


def _matches(order: dict, order_filter: dict) -> bool:
    states = (order_filter.get("state_filter") or {}).get("states")
    if states and order["state"] not in states:
        return False
    sources = (order_filter.get("source_filter") or {}).get("source_names")
    if sources and order["source"]["name"] not in sources:
        return False
    customers = (order_filter.get("customer_filter") or {}).get("customer_ids")
    if customers and order.get("customer_id") not in customers:
        return False
    date_filter = order_filter.get("date_time_filter") or {}
    return all(_in_range(order.get(name), date_filter.get(name), name)
               for name in SORT_FIELDS.values())


def _in_range(value: str | None, time_range: dict | None, name: str) -> bool:
    if not time_range:
        return True
    if value is None:
        return False
    moment = parse_rfc3339(value)
    start = _bound(time_range, "start_at", name)
    end = _bound(time_range, "end_at", name)
    return (start is None or moment >= start) and (end is None or moment < end)


def _bound(time_range: dict, key: str, name: str):
    raw = time_range.get(key)
    if raw is None:
        return None
    moment = parse_rfc3339(raw)
    if moment is None:
        raise invalid("INVALID_TIME", f"Invalid RFC 3339 timestamp `{raw}`.",
                      f"query.filter.date_time_filter.{name}.{key}")
    return moment


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"orders:{offset}".encode()).decode()


def _decode_cursor(cursor: object, size: int) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode()).decode()
        offset = int(text.removeprefix("orders:")) if text.startswith("orders:") else -1
    except (ValueError, UnicodeDecodeError):
        offset = -1
    if not 0 <= offset <= size:
        raise invalid("INVALID_CURSOR", "The pagination cursor is not valid.", "cursor")
    return offset
