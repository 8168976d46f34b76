package shopify

import (
	"fmt"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// orderSource is an order as Shopify states it, read from either shape
// (a REST/webhook body or a GraphQL node): toCanonical is the one place
// that decides what it means for stock, so both paths agree.
type orderSource struct {
	ID              string // numeric
	Name            string
	UpdatedAt       time.Time
	Cancelled       bool
	FinancialStatus string // lower case: pending, authorized, paid, voided...
	LocationID      string // numeric, "" if none
	ShipTo          *connectors.Address
	Lines           []lineSource
	// HasFulfillments says Fulfillments is Shopify's full list (possibly
	// empty); false when the payload left it out and line fields must do.
	HasFulfillments bool
	Fulfillments    []fulfillmentSource
	Refunds         []refundSource
}

type lineSource struct {
	ID       string // numeric
	SKU      string
	Quantity int64 // ordered, including refunded and removed units
	// CurrentQuantity excludes refunded and removed units (REST
	// current_quantity from 2024-01, GraphQL currentQuantity); nil if absent.
	CurrentQuantity *int64
	// FulfillmentStatus (REST line fulfillment_status: fulfilled, partial)
	// and FulfillableQuantity are the fallback when fulfillments are absent.
	FulfillmentStatus   string
	FulfillableQuantity *int64
}

type fulfillmentSource struct {
	Status string    // lower case: success, cancelled, error, failure, open, pending
	Lines  []lineQty // line id → units in this fulfillment
}

type lineQty struct {
	LineID   string
	Quantity int64
}

type refundSource struct {
	ID        string
	OrderID   string
	CreatedAt time.Time
	// Restock is the legacy refund-level flag, used for lines without a
	// restock type (older API versions, the PYSHOP fixture).
	Restock bool
	Lines   []refundLineSource
}

type refundLineSource struct {
	LineID      string
	SKU         string
	Quantity    int64
	RestockType string // lower case: return, cancel, no_restock, legacy_restock; "" if absent
}

// restockType returns the line's restock type, the legacy flag standing in
// when Shopify sent none.
func (r refundSource) restockType(l refundLineSource) string {
	if l.RestockType != "" {
		return l.RestockType
	}
	if r.Restock {
		return "legacy_restock"
	}
	return "no_restock"
}

// toCanonical maps an order to the canonical model. The rules (also in
// README.md):
//
//   - Quantity: the line's original quantity (LineItem.quantity: every
//     unit ever ordered, removed and refunded ones included). It never
//     goes down, so a removal or a refund is never expressed as a lower
//     quantity: Shopify's updated_at has whole seconds, and a state of the
//     same second only applies if it is further along (no field lower,
//     one higher).
//   - Shipped: units in fulfillments whose status is success (a failed or
//     cancelled fulfillment shipped nothing; open/pending ones not yet);
//     without a fulfillment list, the line's fulfillment_status/
//     fulfillable_quantity.
//   - Returned: refunded units that had shipped: "return" and
//     "legacy_restock" ones come back restocked, "no_restock" ones come
//     back written off.
//   - Cancelled: the units that left the order without shipping: removed
//     by an edit or refunded before shipping (any restock type, "cancel"
//     above all), that is quantity - current_quantity - Returned (without
//     current_quantity: the refunded units that never shipped); and, when
//     the order is cancelled, every unit still open as well. Never more
//     than Quantity - Shipped.
//   - Status: cancelled if cancelled_at is set; shipped when nothing is
//     left to ship (something shipped, or every unit left the order);
//     partially_shipped when some units shipped; pending while the
//     payment is pending (financial_status pending: the order already
//     holds stock); open otherwise (authorized and paid alike).
//   - Lines without a SKU are kept, marked NoSKU, and move no stock.
//
// What the ledger would refuse is a *refusal (check), before anything is
// clamped: a negative quantity is refused, not read as 0.
func (o *orderSource) toCanonical(channel string, locations map[string]string) (*connectors.Order, error) {
	if o.ID == "" {
		return nil, fmt.Errorf("order without an id")
	}
	if o.UpdatedAt.IsZero() {
		return nil, fmt.Errorf("order %s: no updated_at", o.ID)
	}
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("order %s: %w", o.ID, err)
	}
	shipped := o.shippedByLine()
	refunds := o.refundsByLine()
	out := &connectors.Order{
		OrderID:   o.ID,
		Name:      o.Name,
		UpdatedAt: o.UpdatedAt.UTC(),
		Location:  locations[o.LocationID],
		ShipTo:    o.ShipTo,
		Lines:     make([]connectors.Line, 0, len(o.Lines)),
	}
	out.Channel = channel
	var totalShipped, totalOpen int64
	for _, src := range o.Lines {
		if src.ID == "" {
			return nil, fmt.Errorf("order %s: a line without an id", o.ID)
		}
		line := o.lineToCanonical(src, shipped, refunds[src.ID])
		totalShipped += line.Shipped
		totalOpen += line.Open()
		out.Lines = append(out.Lines, line)
	}
	out.Status = o.status(len(out.Lines), totalShipped, totalOpen)
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("order %s: %w", o.ID, err)
	}
	return out, nil
}

// shippedByLine sums, per line id, the units in successful fulfillments:
// a failed or cancelled fulfillment shipped nothing and an open or
// pending one has not shipped yet.
func (o *orderSource) shippedByLine() map[string]int64 {
	shipped := map[string]int64{}
	for _, f := range o.Fulfillments {
		if f.Status != "success" {
			continue
		}
		for _, l := range f.Lines {
			shipped[l.LineID] += l.Quantity
		}
	}
	return shipped
}

// refundedUnits are a line's refunded units by what their restock type
// says became of them: restocked, written off, or (other) refunded before
// shipping.
type refundedUnits struct{ restock, noRestock, other int64 }

// refundsByLine sums every refund's lines per line id, split by restock
// type, so a line's refunds can be weighed against what it shipped.
func (o *orderSource) refundsByLine() map[string]*refundedUnits {
	refunds := map[string]*refundedUnits{}
	for _, r := range o.Refunds {
		for _, l := range r.Lines {
			x := refunds[l.LineID]
			if x == nil {
				x = &refundedUnits{}
				refunds[l.LineID] = x
			}
			switch r.restockType(l) {
			case "return", "legacy_restock":
				x.restock += l.Quantity
			case "no_restock":
				x.noRestock += l.Quantity
			default: // cancel: refunded before shipping
				x.other += l.Quantity
			}
		}
	}
	return refunds
}

// lineToCanonical maps one line (its id already checked) by the rules on
// toCanonical, given the units shipped per line id and the line's refunds
// (nil if none).
func (o *orderSource) lineToCanonical(src lineSource, shipped map[string]int64, r *refundedUnits) connectors.Line {
	q0 := max(src.Quantity, 0)
	var s int64
	if o.HasFulfillments {
		s = shipped[src.ID]
	} else {
		s = fallbackShipped(src, q0)
	}
	s = min(max(s, 0), q0)
	if r == nil {
		r = &refundedUnits{}
	}
	restocked := min(r.restock, s)
	writtenOff := min(r.noRestock, s-restocked)
	returned := restocked + writtenOff
	cancelled := min(max(goneUnshipped(src, q0, r, returned), 0), q0-s)
	if o.Cancelled {
		cancelled = q0 - s // every unit still open goes too
	}
	line := connectors.Line{
		LineID:    src.ID,
		SKU:       strings.TrimSpace(src.SKU),
		Quantity:  q0,
		Shipped:   s,
		Cancelled: cancelled,
		Returned:  returned,
		// One flag for the line's returned units: a mix of restocked and
		// written-off units (rare) counts as restocked if most were.
		Restock: returned > 0 && restocked >= writtenOff,
	}
	if line.SKU == "" {
		line.NoSKU = true
	}
	return line
}

// goneUnshipped is how many of a line's q0 units left the order without
// shipping (removed by an edit or refunded before they shipped), before
// clamping: from current_quantity when Shopify sent it, else from the
// refunds that were not returns.
func goneUnshipped(src lineSource, q0 int64, r *refundedUnits, returned int64) int64 {
	if src.CurrentQuantity != nil {
		return q0 - max(*src.CurrentQuantity, 0) - returned
	}
	return r.restock + r.noRestock + r.other - returned
}

// status is the order's status by the rules on toCanonical, given how
// many lines it has and its units shipped and still open.
func (o *orderSource) status(lines int, totalShipped, totalOpen int64) connectors.OrderStatus {
	switch {
	case o.Cancelled:
		return connectors.StatusCancelled
	case lines > 0 && totalOpen == 0:
		// Every unit shipped or left the order (removed, refunded).
		return connectors.StatusShipped
	case totalShipped > 0:
		return connectors.StatusPartiallyShipped
	case o.FinancialStatus == "pending":
		return connectors.StatusPending
	default:
		return connectors.StatusOpen
	}
}

// check refuses what the ledger would refuse, as Shopify stated it: an
// id or SKU holding a control character (or a SKU "." or ".."), any
// quantity below 0 or above MaxQuantity, a version before 1970. How far
// the version is from the clock is the connector's check (it has one).
func (o *orderSource) check() error {
	if err := connectors.CheckID("id", o.ID); err != nil {
		return err
	}
	if err := connectors.CheckVersionFloor("updated_at", o.UpdatedAt); err != nil {
		return err
	}
	for _, l := range o.Lines {
		if err := connectors.CheckID("line id", l.ID); err != nil {
			return err
		}
		if sku := strings.TrimSpace(l.SKU); sku != "" {
			if err := connectors.CheckSKU(sku); err != nil {
				return fmt.Errorf("line %s: %w", l.ID, err)
			}
		}
		for _, q := range []struct {
			what string
			v    *int64
		}{{"quantity", &l.Quantity}, {"current_quantity", l.CurrentQuantity}, {"fulfillable_quantity", l.FulfillableQuantity}} {
			if q.v == nil {
				continue
			}
			if err := connectors.CheckQuantity(q.what, *q.v); err != nil {
				return fmt.Errorf("line %s: %w", l.ID, err)
			}
		}
	}
	for _, f := range o.Fulfillments {
		for _, l := range f.Lines {
			if err := connectors.CheckQuantity("fulfilled units", l.Quantity); err != nil {
				return fmt.Errorf("fulfillment of line %s: %w", l.LineID, err)
			}
		}
	}
	for _, r := range o.Refunds {
		if err := r.check(); err != nil {
			return err
		}
	}
	return nil
}

// check refuses a refund line's quantity below 0 or above MaxQuantity, and
// a SKU the ledger could not key.
func (r *refundSource) check() error {
	for _, l := range r.Lines {
		if err := connectors.CheckQuantity("refunded units", l.Quantity); err != nil {
			return fmt.Errorf("refund %s line %s: %w", r.ID, l.LineID, err)
		}
		if sku := strings.TrimSpace(l.SKU); sku != "" {
			if err := connectors.CheckSKU(sku); err != nil {
				return fmt.Errorf("refund %s line %s: %w", r.ID, l.LineID, err)
			}
		}
	}
	return nil
}

// fallbackShipped reads a line's shipped units from its own fields when
// the payload carries no fulfillment list.
func fallbackShipped(l lineSource, q0 int64) int64 {
	cur := q0
	if l.CurrentQuantity != nil {
		cur = *l.CurrentQuantity
	}
	switch l.FulfillmentStatus {
	case "fulfilled":
		return cur
	case "partial":
		if l.FulfillableQuantity != nil {
			return cur - *l.FulfillableQuantity
		}
	}
	return 0
}

// noSKULines counts the order's lines without a SKU.
func noSKULines(o *connectors.Order) int {
	n := 0
	for _, l := range o.Lines {
		if l.NoSKU {
			n++
		}
	}
	return n
}

// toReturn maps a refund to a canonical return.
func (r *refundSource) toReturn() (*connectors.Return, error) {
	if r.ID == "" || r.OrderID == "" {
		return nil, fmt.Errorf("refund without an id or order_id")
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	out := &connectors.Return{
		OrderID:   r.OrderID,
		ReturnID:  r.ID,
		CreatedAt: r.CreatedAt.UTC(),
		Lines:     make([]connectors.ReturnLine, 0, len(r.Lines)),
	}
	for _, l := range r.Lines {
		if l.LineID == "" {
			return nil, fmt.Errorf("refund %s: a line without line_item_id", r.ID)
		}
		t := r.restockType(l)
		out.Lines = append(out.Lines, connectors.ReturnLine{
			LineID:   l.LineID,
			SKU:      strings.TrimSpace(l.SKU),
			Quantity: max(l.Quantity, 0),
			Restock:  t == "return" || t == "legacy_restock",
			Cancel:   t == "cancel",
			// RETURN: "the refund line item was returned", restocked at a
			// location (RefundLineItemRestockType): the item is back.
			Received: t == "return" || t == "legacy_restock",
		})
	}
	return out, nil
}
