package shopify

import "fmt"

// The GraphQL operations the connector sends. Each is named: Shopify logs
// the name, and shopifytest dispatches on it.
//
// Sizes are chosen so a query's requested cost stays well under Shopify's
// per-query limit of 1000 points (each connection costs 2 + first × its
// nodes): one order with 50 lines, 5 fulfillments of 10 lines and 5
// refunds of 10 lines asks for about 285 points, so a poll page holds 3
// orders. Lines beyond 50 are paged with orderLinesQuery; fulfillments or
// refunds beyond these sizes (rare) are not read.
type operation struct {
	name  string
	query string
	// background operations (the order poll) leave part of the cost
	// bucket to the ones a sale is waiting on (pushes, order fetches), so
	// a long poll can never starve them.
	background bool
	// once operations are sent in one HTTP attempt (no retry of a 429 or
	// 5xx by the HTTP client): a mutation that is not idempotent, whose
	// answer may be lost after Shopify applied it. The caller decides
	// whether to send it again, after reading what Shopify holds.
	once bool
}

// orderFragment is what the connector reads of an order; shipTo adds the
// shipping address's country and province (level 2 protected customer
// data: see Connector.orderQuery).
func orderFragment(shipTo bool) string {
	addr := ""
	if shipTo {
		addr = "\n  shippingAddress { countryCodeV2 provinceCode }"
	}
	return `
fragment ShelfsyncOrder on Order {
  id
  name
  updatedAt
  cancelledAt
  displayFinancialStatus
  retailLocation { id }` + addr + `
  lineItems(first: 50) {
    pageInfo { hasNextPage endCursor }
    nodes { id sku quantity currentQuantity }
  }
  fulfillments(first: 5) {
    status
    fulfillmentLineItems(first: 10) { nodes { quantity lineItem { id } } }
  }
  refunds(first: 5) {
    id
    createdAt
    refundLineItems(first: 10) { nodes { quantity restockType lineItem { id sku } } }
  }
}`
}

// orderOps are an order read with and without the shipping address:
// the same operation name, so Shopify and the fake see one operation.
type orderOps struct{ withShipTo, withoutShipTo operation }

const (
	ordersQuery = `
query ShelfsyncOrders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...ShelfsyncOrder }
  }
}`
	orderQuery = `
query ShelfsyncOrder($id: ID!) {
  order(id: $id) { ...ShelfsyncOrder }
}`
)

var (
	opOrders = orderOps{
		withShipTo:    operation{name: "ShelfsyncOrders", query: ordersQuery + orderFragment(true), background: true},
		withoutShipTo: operation{name: "ShelfsyncOrders", query: ordersQuery + orderFragment(false), background: true},
	}

	opOrder = orderOps{
		withShipTo:    operation{name: "ShelfsyncOrder", query: orderQuery + orderFragment(true)},
		withoutShipTo: operation{name: "ShelfsyncOrder", query: orderQuery + orderFragment(false)},
	}

	opOrderLines = operation{name: "ShelfsyncOrderLines", query: `
query ShelfsyncOrderLines($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id sku quantity currentQuantity }
    }
  }
}`, background: true}

	opVariants = operation{name: "ShelfsyncVariants", query: `
query ShelfsyncVariants($query: String!, $after: String) {
  productVariants(first: 250, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes { sku inventoryItem { id } }
  }
}`}

	opLevels = operation{name: "ShelfsyncLevels", query: `
query ShelfsyncLevels($ids: [ID!]!, $location: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $location) {
        quantities(names: ["available"]) { name quantity }
      }
    }
  }
}`}

	// opAllLevels reads an item's level at every location that stocks it
	// (per-location channels: mapped and unmapped locations).
	opAllLevels = operation{name: "ShelfsyncAllLevels", query: `
query ShelfsyncAllLevels($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevels(first: 50) {
        nodes {
          location { id }
          quantities(names: ["available"]) { name quantity }
        }
      }
    }
  }
}`}

	// opSetQuantities carries the batch's idempotency key as a variable of
	// the @idempotent directive, so one document serves every batch.
	opSetQuantities = operation{name: "ShelfsyncSetQuantities", query: `
mutation ShelfsyncSetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}`}
)

// Shipment confirmation (ship.go). The order is read first with small
// pages (opShipOrder: 5 fulfillments of 10 lines, 5 fulfillment orders of
// 10 lines, a requested cost of 139 points, about 10 actual for an order
// of one line), and again with the full sizes (opFulfillmentOrders: 10 ×
// 25 and 10 × 25, 574 points requested) only when the small read was cut
// short. A line beyond the full read is reported as not read, never
// guessed.
const (
	shipFulfillmentOrdersFirst = 10 // and fulfillments
	shipLinesFirst             = 25
	shipSmallFirst             = 5  // fulfillments and fulfillment orders of opShipOrder
	shipSmallLinesFirst        = 10 // their lines
)

var (
	opShipOrder = operation{name: "ShelfsyncShipOrder", query: shipOrderQuery("ShelfsyncShipOrder", shipSmallFirst, shipSmallLinesFirst)}

	opFulfillmentOrders = operation{name: "ShelfsyncFulfillmentOrders",
		query: shipOrderQuery("ShelfsyncFulfillmentOrders", shipFulfillmentOrdersFirst, shipLinesFirst)}

	// opFulfillmentCreate is not idempotent on Shopify's side (no
	// @idempotent key for it), so it is sent in one HTTP attempt: a lost
	// answer is a retry of the whole confirmation, which reads the
	// order's fulfillments first.
	opFulfillmentCreate = operation{name: "ShelfsyncFulfillmentCreate", once: true, query: `
mutation ShelfsyncFulfillmentCreate($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment { id status }
    userErrors { field message }
  }
}`}
)

// shipOrderQuery is the document of the confirmation's read: the order's
// first n fulfillments and fulfillment orders with their first lines
// lines each.
func shipOrderQuery(name string, n, lines int) string {
	return fmt.Sprintf(`
query %s($id: ID!) {
  order(id: $id) {
    id
    cancelledAt
    fulfillments(first: %d) {
      id
      status
      trackingInfo { company number url }
      fulfillmentLineItems(first: %d) {
        pageInfo { hasNextPage }
        nodes { quantity lineItem { id } }
      }
    }
    fulfillmentOrders(first: %d) {
      pageInfo { hasNextPage }
      nodes {
        id
        status
        assignedLocation { location { id } }
        lineItems(first: %d) {
          pageInfo { hasNextPage }
          nodes { id remainingQuantity lineItem { id } }
        }
      }
    }
  }
}`, name, n, lines, n, lines)
}
