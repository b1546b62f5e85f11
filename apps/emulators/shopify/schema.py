"""The subset of Shopify's Admin GraphQL schema the emulator serves, per API version.

Written from shopify.dev's reference pages (objects Product, ProductVariant,
InventoryItem, InventoryLevel, InventoryQuantity, Location, Order, LineItem; mutations
inventorySetQuantities and inventoryAdjustQuantities; enums
InventorySetQuantitiesUserErrorCode and InventoryAdjustQuantitiesUserErrorCode) and the
changelogs behind CONNECTORS.md §4.3:
- up to 2025-10: `compareQuantity` per quantity and `ignoreCompareQuantity` on the input;
- 2026-01: `changeFromQuantity` added (set and adjust), the old fields deprecated, the
  `@idempotent(key:)` directive optional;
- 2026-04: the old compare fields removed; `changeFromQuantity` and `@idempotent` required
  at run time (the schema does not mark them required, as on Shopify).
"""

from __future__ import annotations

from functools import cache

from graphql import GraphQLSchema, build_schema

SUPPORTED_VERSIONS = ("2024-07", "2024-10", "2025-01", "2025-04", "2025-07", "2025-10",
                      "2026-01", "2026-04")

_CONNECTION_NODES = ("Product", "ProductVariant", "Location", "InventoryItem", "InventoryLevel",
                     "Order", "LineItem")

_PAGING = "first: Int, after: String, last: Int, before: String"

_SDL = """
directive @idempotent(key: String!) on FIELD

scalar DateTime
scalar Money
scalar Decimal

enum CurrencyCode { USD }
enum ProductStatus { ACTIVE ARCHIVED DRAFT }
enum OrderSortKeys { CREATED_AT UPDATED_AT PROCESSED_AT ID ORDER_NUMBER }
enum ProductSortKeys { ID TITLE UPDATED_AT CREATED_AT }
enum OrderDisplayFinancialStatus {
  PENDING AUTHORIZED PARTIALLY_PAID PARTIALLY_REFUNDED VOIDED PAID REFUNDED EXPIRED
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type Query {
  shop: Shop!
  products(@@PAGING@@, query: String, reverse: Boolean, sortKey: ProductSortKeys): ProductConnection!
  product(id: ID!): Product
  productVariants(@@PAGING@@, query: String): ProductVariantConnection!
  productVariant(id: ID!): ProductVariant
  locations(@@PAGING@@, query: String, includeInactive: Boolean): LocationConnection!
  location(id: ID): Location
  inventoryItems(@@PAGING@@, query: String): InventoryItemConnection!
  inventoryItem(id: ID!): InventoryItem
  inventoryLevel(id: ID!): InventoryLevel
  orders(@@PAGING@@, query: String, reverse: Boolean, sortKey: OrderSortKeys): OrderConnection!
  order(id: ID!): Order
}

type Shop { id: ID! name: String! myshopifyDomain: String! currencyCode: CurrencyCode! }

type Product {
  id: ID!
  legacyResourceId: ID!
  title: String!
  handle: String!
  status: ProductStatus!
  productType: String!
  vendor: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  totalInventory: Int!
  variants(@@PAGING@@): ProductVariantConnection!
}

type ProductVariant {
  id: ID!
  legacyResourceId: ID!
  sku: String
  price: Money!
  title: String!
  displayName: String!
  position: Int!
  inventoryQuantity: Int
  inventoryItem: InventoryItem!
  product: Product!
  createdAt: DateTime!
  updatedAt: DateTime!
}

type InventoryItem {
  id: ID!
  legacyResourceId: ID!
  sku: String
  tracked: Boolean!
  variant: ProductVariant!
  createdAt: DateTime!
  updatedAt: DateTime!
  inventoryLevels(@@PAGING@@): InventoryLevelConnection!
  inventoryLevel(locationId: ID!): InventoryLevel
}

type InventoryLevel {
  id: ID!
  location: Location!
  item: InventoryItem!
  quantities(names: [String!]!): [InventoryQuantity!]!
  createdAt: DateTime!
  updatedAt: DateTime!
}

type InventoryQuantity { id: ID! name: String! quantity: Int! updatedAt: DateTime }

type Location {
  id: ID!
  legacyResourceId: ID!
  name: String!
  isActive: Boolean!
  inventoryLevels(@@PAGING@@): InventoryLevelConnection!
  inventoryLevel(inventoryItemId: ID!): InventoryLevel
}

type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }

type Customer {
  id: ID!
  email: String
  phone: String
  firstName: String
  lastName: String
  displayName: String!
}

type Order {
  id: ID!
  legacyResourceId: ID!
  name: String!
  email: String
  createdAt: DateTime!
  updatedAt: DateTime!
  processedAt: DateTime!
  cancelledAt: DateTime
  test: Boolean!
  sourceName: String
  currencyCode: CurrencyCode!
  displayFinancialStatus: OrderDisplayFinancialStatus
  totalPriceSet: MoneyBag!
  currentTotalPriceSet: MoneyBag!
  totalRefundedSet: MoneyBag!
  lineItems(@@PAGING@@): LineItemConnection!
  customer: Customer
  refunds(first: Int): [Refund!]!
}

type LineItem {
  id: ID!
  name: String!
  title: String!
  sku: String
  quantity: Int!
  currentQuantity: Int!
  refundableQuantity: Int!
  variant: ProductVariant
  originalUnitPriceSet: MoneyBag!
}

type Refund { id: ID! createdAt: DateTime note: String totalRefundedSet: MoneyBag! }

type Mutation {
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  inventoryAdjustQuantities(input: InventoryAdjustQuantitiesInput!): InventoryAdjustQuantitiesPayload
}

input InventorySetQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  quantities: [InventoryQuantityInput!]!
  @@IGNORE_COMPARE@@
}

input InventoryQuantityInput {
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
  @@COMPARE_QUANTITY@@
  @@CHANGE_FROM@@
}

input InventoryAdjustQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  changes: [InventoryChangeInput!]!
}

input InventoryChangeInput {
  delta: Int!
  inventoryItemId: ID!
  locationId: ID!
  ledgerDocumentUri: String
  @@CHANGE_FROM@@
}

type InventoryAdjustmentGroup {
  id: ID!
  createdAt: DateTime!
  reason: String!
  referenceDocumentUri: String
  changes(inventoryItemIds: [ID!], locationIds: [ID!], quantityNames: [String!]): [InventoryChange!]!
}

type InventoryChange {
  name: String!
  delta: Int!
  quantityAfterChange: Int
  ledgerDocumentUri: String
  item: InventoryItem
  location: Location
}

type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}

type InventorySetQuantitiesUserError {
  code: InventorySetQuantitiesUserErrorCode
  field: [String!]
  message: String!
}

enum InventorySetQuantitiesUserErrorCode {
  CHANGE_FROM_QUANTITY_STALE COMPARE_QUANTITY_REQUIRED COMPARE_QUANTITY_STALE
  IDEMPOTENCY_CONCURRENT_REQUEST IDEMPOTENCY_KEY_PARAMETER_MISMATCH INVALID_INVENTORY_ITEM
  INVALID_LOCATION INVALID_NAME INVALID_QUANTITY_NEGATIVE INVALID_QUANTITY_TOO_HIGH
  INVALID_QUANTITY_TOO_LOW INVALID_REASON INVALID_REFERENCE_DOCUMENT ITEM_NOT_STOCKED_AT_LOCATION
  NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR NON_MUTABLE_INVENTORY_ITEM
}

type InventoryAdjustQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventoryAdjustQuantitiesUserError!]!
}

type InventoryAdjustQuantitiesUserError {
  code: InventoryAdjustQuantitiesUserErrorCode
  field: [String!]
  message: String!
}

enum InventoryAdjustQuantitiesUserErrorCode {
  ADJUST_QUANTITIES_FAILED CHANGE_FROM_QUANTITY_STALE IDEMPOTENCY_CONCURRENT_REQUEST
  IDEMPOTENCY_KEY_PARAMETER_MISMATCH INVALID_AVAILABLE_DOCUMENT INVALID_INVENTORY_ITEM
  INVALID_LEDGER_DOCUMENT INVALID_LOCATION INVALID_QUANTITY_DOCUMENT INVALID_QUANTITY_NAME
  INVALID_QUANTITY_NEGATIVE INVALID_QUANTITY_TOO_HIGH INVALID_QUANTITY_TOO_LOW INVALID_REASON
  INVALID_REFERENCE_DOCUMENT ITEM_NOT_STOCKED_AT_LOCATION MAX_ONE_LEDGER_DOCUMENT
  NON_MUTABLE_INVENTORY_ITEM
}
"""

_CONNECTION = """
type {node}Connection {{ edges: [{node}Edge!]! nodes: [{node}!]! pageInfo: PageInfo! }}
type {node}Edge {{ cursor: String! node: {node}! }}
"""


def era(version: str) -> str:
    """"legacy" (compareQuantity), "2026-01" (both, optional) or "2026-04" (changeFromQuantity)."""
    if version >= "2026-04":
        return "2026-04"
    if version >= "2026-01":
        return "2026-01"
    return "legacy"


@cache
def schema_for(version: str) -> GraphQLSchema:
    return _build(era(version))


@cache
def _build(api_era: str) -> GraphQLSchema:
    compare = api_era != "2026-04"
    change_from = api_era != "legacy"
    sdl = (_SDL.replace("@@PAGING@@", _PAGING)
           .replace("@@IGNORE_COMPARE@@", "ignoreCompareQuantity: Boolean" if compare else "")
           .replace("@@COMPARE_QUANTITY@@", "compareQuantity: Int" if compare else "")
           .replace("@@CHANGE_FROM@@", "changeFromQuantity: Int" if change_from else ""))
    sdl += "".join(_CONNECTION.format(node=node) for node in _CONNECTION_NODES)
    return build_schema(sdl)
