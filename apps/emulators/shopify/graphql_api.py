"""`POST /admin/api/{version}/graphql.json`: parse, validate, price, throttle, execute.

Rate limiting is Shopify's calculated query cost [shopify.dev /docs/api/usage/rate-limits]:
scalars and enums 0, objects 1, connections 2 + (first|last) x the cost of one node,
mutations 10; a query may cost at most 1000; the bucket holds 1000 points and restores
100 per second; the difference between requested and actual cost is refunded. When the
bucket is short the answer is `{"errors":[{"message":"Throttled","extensions":{"code":
"THROTTLED"}}]}` with HTTP 200 (configurable, the public sources are ambiguous). Every
answer carries `extensions.cost`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    VariableNode,
    execute,
    get_named_type,
    parse,
    validate,
)
from graphql.error import GraphQLSyntaxError

from .mutations import Mutations
from .nodes import Nodes, connection, matches
from .schema import schema_for
from .store import parse_gid

if TYPE_CHECKING:
    from .emulator import ShopifyEmulator

MAX_QUERY_COST = 1000
MUTATION_COST = 10


class GraphQLApi:
    def __init__(self, emulator: ShopifyEmulator):
        self.emulator = emulator

    def answer(self, request_body: dict, version: str) -> tuple[int, dict, dict]:
        """(HTTP status, body, extra headers) for one GraphQL request."""
        query = request_body.get("query")
        if not isinstance(query, str) or not query.strip():
            return 400, {"errors": {"query": "Required parameter missing or invalid"}}, {}
        variables = request_body.get("variables") or {}
        if not isinstance(variables, dict):
            return 400, {"errors": {"variables": "Invalid variables"}}, {}
        schema = schema_for(version)
        try:
            document = parse(query)
        except GraphQLSyntaxError as error:
            return self._refused([error.formatted])
        errors = validate(schema, document)
        if errors:
            return self._refused([error.formatted for error in errors])
        operation = _operation(document, request_body.get("operationName"))
        if operation is None:
            return self._refused([{"message": "An operation name is required"}])
        requested = Cost(schema, document, variables).of_operation(operation)
        return self._run(schema, document, variables, request_body.get("operationName"), version,
                         requested, operation)

    def _run(self, schema, document, variables, operation_name, version, requested, operation):
        bucket = self.emulator.graphql_bucket
        if requested > MAX_QUERY_COST:
            body = {"errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max cost "
                           f"limit ({MAX_QUERY_COST}).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                               "maxCost": MAX_QUERY_COST}}]}
            return 200, {**body, "extensions": {"cost": self._cost(requested, None)}}, {}
        if self.emulator.rate_limits and bucket.take(requested):
            return self.throttled(requested)
        context = {"emulator": self.emulator, "version": version}
        root = Root(self.emulator, version)
        result = execute(schema, document, root_value=root, context_value=context,
                         variable_values=variables, operation_name=operation_name)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        body["data"] = result.data
        actual = Cost(schema, document, variables).of_operation(operation, result.data)
        actual = min(actual, requested)
        if self.emulator.rate_limits:
            bucket.give_back(requested - actual)
        body["extensions"] = {"cost": self._cost(requested, actual)}
        return 200, body, {}

    def _refused(self, errors: list) -> tuple[int, dict, dict]:
        """A query that never ran: its errors, and (as on every answer) the cost extension."""
        return 200, {"errors": errors, "extensions": {"cost": self._cost(0, 0)}}, {}

    def throttled(self, requested: int | None) -> tuple[int, dict, dict]:
        body = {
            "errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": {"cost": self._cost(requested, None)},
        }
        return self.emulator.graphql_throttle_status, body, {}

    def _cost(self, requested: int | None, actual: int | None) -> dict:
        bucket = self.emulator.graphql_bucket
        return {
            "requestedQueryCost": requested, "actualQueryCost": actual,
            "throttleStatus": {"maximumAvailable": bucket.capacity,
                               "currentlyAvailable": int(bucket.available),
                               "restoreRate": bucket.rate},
        }


def _operation(document, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((op for op in operations if op.name and op.name.value == name), None)
    return operations[0] if len(operations) == 1 else None


# -- root resolvers ----------------------------------------------------------------------------


class Root(Mutations):
    """Query and Mutation fields; graphql-core calls these with (info, **arguments)."""

    def __init__(self, emulator: ShopifyEmulator, version: str):
        super().__init__(emulator, version)
        self.nodes = Nodes(emulator.store, emulator.shop_domain)

    def shop(self, info):
        return self.nodes.shop()

    def products(self, info, query=None, reverse=False, sortKey=None, **paging):
        products = [p for p in self.store.products if matches(_product_fields(p), query)]
        if reverse:
            products.reverse()
        return connection([self.nodes.product(p) for p in products], **paging)

    def product(self, info, id):
        product_id = parse_gid(id, "Product")
        product = next((p for p in self.store.products if p["id"] == product_id), None)
        return self.nodes.product(product) if product else None

    def productVariants(self, info, query=None, **paging):
        variants = [v for v in self.store.variants.values() if matches(_variant_fields(v), query)]
        return connection([self.nodes.variant(v) for v in variants], **paging)

    def productVariant(self, info, id):
        variant = self.store.variants.get(parse_gid(id, "ProductVariant"))
        return self.nodes.variant(variant) if variant else None

    def locations(self, info, query=None, includeInactive=False, **paging):
        locations = [loc for loc in self.store.locations.values()
                     if matches({"name": loc["name"], "id": loc["id"], "title": loc["name"]}, query)]
        return connection([self.nodes.location(loc["id"]) for loc in locations], **paging)

    def location(self, info, id=None):
        if id is None:
            return self.nodes.location(next(iter(self.store.locations), None))
        return self.nodes.location(parse_gid(id, "Location"))

    def inventoryItems(self, info, query=None, **paging):
        variants = [v for v in self.store.variants.values() if matches(_variant_fields(v), query)]
        return connection([self.nodes.item(v["inventory_item_id"]) for v in variants], **paging)

    def inventoryItem(self, info, id):
        return self.nodes.item(parse_gid(id, "InventoryItem"))

    def inventoryLevel(self, info, id):
        location_id, _, item = id.removeprefix("gid://shopify/InventoryLevel/").partition("?inventory_item_id=")
        if not (location_id.isdigit() and item.isdigit()):
            return None
        level = self.store.levels.get((int(location_id), int(item)))
        return self.nodes.level(level) if level else None

    def orders(self, info, query=None, reverse=False, sortKey=None, **paging):
        key = {"UPDATED_AT": "updated_at", "CREATED_AT": "created_at", "PROCESSED_AT": "processed_at",
               "ORDER_NUMBER": "order_number"}.get(sortKey or "ID", "id")
        orders = sorted((o for o in self.store.orders.values() if matches(_order_fields(o), query)),
                        key=lambda o: (o[key], o["id"]), reverse=bool(reverse))
        return connection([self.nodes.order(o) for o in orders], **paging)

    def order(self, info, id):
        order = self.store.orders.get(parse_gid(id, "Order"))
        return self.nodes.order(order) if order else None


def _product_fields(product: dict) -> dict:
    return {"title": product["title"], "id": product["id"], "product_type": product["product_type"],
            "sku": " ".join(v["sku"] for v in product["variants"]),
            "updated_at": datetime.fromisoformat(product["updated_at"]),
            "created_at": datetime.fromisoformat(product["created_at"]), "status": "active"}


def _variant_fields(variant: dict) -> dict:
    return {"sku": variant["sku"], "id": variant["id"], "title": variant["title"],
            "product_id": variant["product_id"]}


def _order_fields(order: dict) -> dict:
    return {"id": order["id"], "name": order["name"], "email": order["email"],
            "financial_status": order["financial_status"], "source_name": order["source_name"],
            "created_at": datetime.fromisoformat(order["created_at"]),
            "updated_at": datetime.fromisoformat(order["updated_at"]),
            "processed_at": datetime.fromisoformat(order["processed_at"]), "title": order["name"]}


# -- cost --------------------------------------------------------------------------------------


class Cost:
    """Shopify's static cost of an operation; with `data`, the actual cost of its answer."""

    def __init__(self, schema, document, variables: dict):
        self.schema = schema
        self.variables = variables
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}

    def of_operation(self, operation: OperationDefinitionNode, data: Any = None) -> int:
        if operation.operation.value == "mutation":
            root = self.schema.mutation_type
            fields = self._fields(root, operation.selection_set)
            return sum(MUTATION_COST + self._selection_cost(root, node, _value(data, node))
                       for node in fields)
        root = self.schema.subscription_type if operation.operation.value == "subscription" \
            else self.schema.query_type
        return self._set_cost(root, operation.selection_set, data)

    def _set_cost(self, parent: GraphQLObjectType, selection_set, data: Any) -> int:
        if selection_set is None:
            return 0
        return sum(self._field_cost(parent, node, _value(data, node))
                   for node in self._fields(parent, selection_set))

    def _fields(self, parent, selection_set) -> list[FieldNode]:
        fields: list[FieldNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                fields.extend(self._fields(parent, selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment:
                    fields.extend(self._fields(parent, fragment.selection_set))
        return fields

    def _field_cost(self, parent, node: FieldNode, data: Any) -> int:
        field = parent.fields.get(node.name.value) if hasattr(parent, "fields") else None
        if field is None:
            return 0  # __typename and introspection
        named = get_named_type(field.type)
        if not isinstance(named, GraphQLObjectType):
            return 0
        if named.name.endswith("Connection"):
            return self._connection_cost(named, node, data)
        return self._selection_cost(named, node, data, is_list=_is_list(field.type))

    def _selection_cost(self, named, node: FieldNode, data: Any, is_list: bool = False) -> int:
        if is_list:
            items = data if isinstance(data, list) else None
            count = len(items) if items is not None else self._list_size(node)
            sample = items[0] if items else None
            return count * (1 + self._set_cost(named, node.selection_set, sample))
        return 1 + self._set_cost(named, node.selection_set, data)

    def _connection_cost(self, connection_type, node: FieldNode, data: Any) -> int:
        """2 + page size x the cost of one node (selected through `edges.node` or `nodes`)."""
        size = self._page_size(node)
        if isinstance(data, dict):
            size = len(data.get("edges") or data.get("nodes") or [])
        per_node = 0
        for child in self._fields(connection_type, node.selection_set):
            sample = _value(data, child)
            sample = sample[0] if isinstance(sample, list) and sample else None
            if child.name.value == "nodes":
                node_type = get_named_type(connection_type.fields["nodes"].type)
                per_node = max(per_node, 1 + self._set_cost(node_type, child.selection_set, sample))
            elif child.name.value == "edges":
                edge_type = get_named_type(connection_type.fields["edges"].type)
                node_type = get_named_type(edge_type.fields["node"].type)
                for grandchild in self._fields(edge_type, child.selection_set):
                    if grandchild.name.value == "node":
                        per_node = max(per_node, 1 + self._set_cost(
                            node_type, grandchild.selection_set, _value(sample, grandchild)))
        return 2 + size * per_node

    def _page_size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                return max(0, self._int(argument.value))
        return 0

    def _list_size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value in ("names", "first") and hasattr(argument.value, "values"):
                return len(argument.value.values)
        return 1

    def _int(self, value) -> int:
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            raw = self.variables.get(value.name.value)
            return raw if isinstance(raw, int) else 0
        return 0


def _is_list(field_type) -> bool:
    while isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def _value(data: Any, node: FieldNode) -> Any:
    if isinstance(data, dict):
        key = node.alias.value if node.alias else node.name.value
        return data.get(key)
    if isinstance(data, list):
        return data[0] if data else None
    return None

