package connectors

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// OrderStatus is the canonical state of an order, whatever the channel calls it.
type OrderStatus string

// The canonical order states.
const (
	StatusPending          OrderStatus = "pending"           // placed, not yet paid/confirmed; already holds stock
	StatusOpen             OrderStatus = "open"              // to be shipped
	StatusPartiallyShipped OrderStatus = "partially_shipped" // some units shipped
	StatusShipped          OrderStatus = "shipped"           // every unit shipped (or cancelled)
	StatusCancelled        OrderStatus = "cancelled"         // nothing more will ship
)

// Order is one marketplace order in the canonical model. It is the order's
// whole current state, never a delta: the ledger applies the difference to
// what it already holds, so the same order seen twice, late or out of order
// changes nothing.
type Order struct {
	Channel string      `json:"channel"`
	OrderID string      `json:"order_id"`
	Name    string      `json:"name,omitempty"` // the merchant-facing number (#1001)
	Status  OrderStatus `json:"status"`
	// UpdatedAt is the channel's version of the order: a newer one supersedes.
	UpdatedAt time.Time `json:"updated_at"`
	// Location is a shelfsync location id when the channel says where the
	// order ships from; empty lets the ledger choose by priority.
	Location string `json:"location,omitempty"`
	// ShipTo is where the order ships to, when the channel says: order
	// routing's region lists match it.
	ShipTo *Address `json:"ship_to,omitempty"`
	Lines  []Line   `json:"lines"`
}

// Address is an order's destination as routing needs it: Country is the
// ISO 3166-1 alpha-2 code, Region the subdivision code without the
// country ("CA" for US-CA), both upper case, either may be empty.
type Address struct {
	Country string `json:"country,omitempty"`
	Region  string `json:"region,omitempty"`
}

// NewAddress is the destination of a channel's country and region codes,
// upper-cased, a region given as "US-CA" cut to "CA"; nil when the
// channel gives no country.
func NewAddress(country, region string) *Address {
	country = strings.ToUpper(strings.TrimSpace(country))
	if country == "" {
		return nil
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	region = strings.TrimPrefix(region, country+"-")
	return &Address{Country: country, Region: region}
}

// Line is one order line. Quantities are totals over the order's life:
// Quantity ordered (after edits), of which Shipped went out and Cancelled
// will never ship; Returned came back after shipping, and Restock says
// whether returned units go back on the shelf (else they are written off).
// The units still to ship are Quantity - Shipped - Cancelled.
type Line struct {
	LineID    string `json:"line_id"`
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	Shipped   int64  `json:"shipped"`
	Cancelled int64  `json:"cancelled"`
	Returned  int64  `json:"returned"`
	Restock   bool   `json:"restock"`
	// NoSKU marks a line the channel sold without a SKU (a Shopify custom
	// item): it is kept and counted, and moves no stock.
	NoSKU bool `json:"no_sku,omitempty"`
	// Location is where the ledger holds the line's stock and Route the
	// routing rule that put it there (config.Routing's rule names, or
	// "channel", "fallback"): set by ingest before the order goes
	// downstream; Route only on the publish that placed the line.
	Location string `json:"location,omitempty"`
	Route    string `json:"route,omitempty"`
	// Split lists the parts of a line split across locations (routing
	// split): each location and the units it took; Location is then the
	// last part's. A pointer, so that Line stays comparable.
	Split *[]LinePart `json:"split,omitempty"`
}

// LinePart is one location's part of a split line.
type LinePart struct {
	Location string `json:"location"`
	Units    int64  `json:"units"`
}

// Open is the units of the line still to ship.
func (l Line) Open() int64 {
	if o := l.Quantity - l.Shipped - l.Cancelled; o > 0 {
		return o
	}
	return 0
}

// Validate checks the order's own consistency: what a connector must
// guarantee before it hands an order on.
func (o *Order) Validate() error {
	var errs []error
	if o.Channel == "" {
		errs = append(errs, errors.New("channel is empty"))
	}
	if o.OrderID == "" {
		errs = append(errs, errors.New("order_id is empty"))
	}
	if o.UpdatedAt.IsZero() {
		errs = append(errs, errors.New("updated_at is missing"))
	}
	switch o.Status {
	case StatusPending, StatusOpen, StatusPartiallyShipped, StatusShipped, StatusCancelled:
	default:
		errs = append(errs, fmt.Errorf("unknown status %q", o.Status))
	}
	seen := make(map[string]bool, len(o.Lines))
	for i, l := range o.Lines {
		switch {
		case l.LineID == "":
			errs = append(errs, fmt.Errorf("line %d: line_id is empty", i))
		case seen[l.LineID]:
			errs = append(errs, fmt.Errorf("line %d: duplicate line_id %q", i, l.LineID))
		}
		seen[l.LineID] = true
		if l.SKU == "" && !l.NoSKU {
			errs = append(errs, fmt.Errorf("line %s: sku is empty but no_sku is not set", l.LineID))
		}
		if l.Quantity < 0 || l.Shipped < 0 || l.Cancelled < 0 || l.Returned < 0 {
			errs = append(errs, fmt.Errorf("line %s: negative quantity", l.LineID))
		}
		if l.Shipped+l.Cancelled > l.Quantity {
			errs = append(errs, fmt.Errorf("line %s: shipped %d + cancelled %d exceed quantity %d", l.LineID, l.Shipped, l.Cancelled, l.Quantity))
		}
		if l.Returned > l.Shipped {
			errs = append(errs, fmt.Errorf("line %s: returned %d exceeds shipped %d", l.LineID, l.Returned, l.Shipped))
		}
	}
	return errors.Join(errs...)
}

// EventKind says what a channel event carries.
type EventKind string

// The kinds of channel events.
const (
	// EventOrder carries a whole order (Order is set).
	EventOrder EventKind = "order"
	// EventOrderChanged says only that an order changed (OrderID is set):
	// the engine fetches it through the connector's OrderFetcher. Amazon's
	// ORDER_CHANGE and eBay's notifications are of this kind.
	EventOrderChanged EventKind = "order_changed"
	// EventReturn carries a refund or return (Return is set). The engine
	// fetches the whole order where it can, so returns stay absolute state.
	EventReturn EventKind = "return"
	// EventStockChanged says the channel's own listed quantity changed
	// (Stock is set): a merchant edited it by hand, or the channel moved it.
	EventStockChanged EventKind = "stock_changed"
)

// Event is what pollers and webhook receivers hand to the engine.
type Event struct {
	Kind    EventKind `json:"kind"`
	Channel string    `json:"channel"`
	// ID identifies the delivery for de-duplication, unique within the
	// channel (Shopify: topic + X-Shopify-Event-Id). Empty when the channel
	// gives none: the payload's own version then makes repeats harmless.
	ID string `json:"id,omitempty"`
	// Topic is the channel's own name for the event (orders/updated, ORDER_CHANGE).
	Topic      string       `json:"topic,omitempty"`
	ReceivedAt time.Time    `json:"received_at"`
	Order      *Order       `json:"order,omitempty"`
	OrderID    string       `json:"order_id,omitempty"`
	Return     *Return      `json:"return,omitempty"`
	Stock      *StockChange `json:"stock,omitempty"`
}

// Return is a refund or return of units of an order.
type Return struct {
	OrderID   string    `json:"order_id"`
	ReturnID  string    `json:"return_id"`
	CreatedAt time.Time `json:"created_at"`
	// Status is the channel's own state of the return (lower case:
	// requested, received, closed, ...), when it has one.
	Status string `json:"status,omitempty"`
	// Facts marks a return whose lines report facts (Received, Reason,
	// Condition) for the channel's returns policy, not restocks: the
	// engine books it by the policy, once per return, line and unit, as it
	// does polled returns (Shopify's returns/* webhooks). A refund (the
	// units and restock the channel made) leaves it false.
	Facts bool         `json:"facts,omitempty"`
	Lines []ReturnLine `json:"lines"`
}

// ReturnLine is one line of a return. Restock says whether the units go
// back on the shelf; Cancel marks units refunded before they shipped
// (Shopify restock_type "cancel"), which release a reservation instead.
//
// A connector that reads returns outside orders (ReturnPoller) reports
// the facts and leaves Restock false: Received says the channel records
// the item as back with the seller; Reason and Condition are the
// channel's own codes (lower case). The channel's returns policy
// (sync) turns them into Restock.
type ReturnLine struct {
	LineID    string `json:"line_id"`
	SKU       string `json:"sku,omitempty"`
	Quantity  int64  `json:"quantity"`
	Restock   bool   `json:"restock"`
	Cancel    bool   `json:"cancel,omitempty"`
	Received  bool   `json:"received,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Condition string `json:"condition,omitempty"`
}

// StockChange is a quantity the channel reports for a SKU.
type StockChange struct {
	// SKU may be empty when the channel names only its own item id and the
	// connector could not map it; ItemID then says which.
	SKU    string `json:"sku"`
	ItemID string `json:"item_id,omitempty"`
	// ChannelLocation is the channel's own location id, if it has one.
	ChannelLocation string    `json:"channel_location,omitempty"`
	Quantity        int64     `json:"quantity"`
	At              time.Time `json:"at"`
}
