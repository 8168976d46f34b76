package woocommerce

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// statusClass is how an order status moves stock.
type statusClass int

const (
	classPending   statusClass = iota + 1 // reserves: placed, payment not confirmed
	classOpen                             // reserves: paid, to ship
	classShipped                          // every unit not refunded before left
	classCancelled                        // nothing more ships
	classRefunded                         // refunded: cancelled, or shipped if it had completed
	classIgnore                           // not an order yet (a checkout draft)
)

// defaultStatuses maps WooCommerce's core order statuses
// (https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties:
// pending, processing, on-hold, completed, cancelled, refunded, failed,
// trash; checkout-draft is the block checkout's draft, draft and
// auto-draft are admin drafts). Settings.Statuses overrides them.
var defaultStatuses = map[string]statusClass{
	// pending: placed, no payment yet. WooCommerce itself holds the stock
	// of a checkout for "Hold stock (minutes)" and then cancels it.
	"pending": classPending,
	// on-hold: awaiting payment confirmation; WooCommerce has reduced stock.
	"on-hold":    classPending,
	"processing": classOpen,
	"completed":  classShipped,
	"cancelled":  classCancelled,
	"refunded":   classRefunded,
	// failed: payment failed or was declined; nothing ships unless the
	// customer pays again (a later version, processing, reserves again).
	"failed": classCancelled,
	// trash: "deleted" (order.deleted) but still readable; restorable.
	"trash":          classCancelled,
	"checkout-draft": classIgnore,
	"draft":          classIgnore,
	"auto-draft":     classIgnore,
}

var classNames = map[string]statusClass{
	ClassPending: classPending, ClassOpen: classOpen, ClassShipped: classShipped,
	ClassCancelled: classCancelled, ClassIgnore: classIgnore,
}

// errNotAnOrder marks an order whose status says it is not one yet (a
// checkout draft): nothing is handed on.
var errNotAnOrder = errors.New("not an order yet")

// mapping turns WooCommerce orders into canonical ones for one channel.
type mapping struct {
	channel  string
	location string
	statuses map[string]statusClass // defaults merged with Settings.Statuses
}

func newMapping(channel, location string, overrides map[string]string) mapping {
	m := mapping{channel: channel, location: location, statuses: make(map[string]statusClass, len(defaultStatuses)+len(overrides))}
	for k, v := range defaultStatuses {
		m.statuses[k] = v
	}
	for k, v := range overrides {
		if c, ok := classNames[v]; ok {
			m.statuses[k] = c
		}
	}
	return m
}

// class resolves a status; an unknown one (a plugin's) reserves as open,
// the side that never oversells, and known is false so it is counted.
func (m mapping) class(status string) (c statusClass, known bool) {
	if c, ok := m.statuses[status]; ok {
		return c, true
	}
	return classOpen, false
}

// needsRefunds says whether the order names refunds whose lines must be
// read (GET /orders/{id}/refunds) before it can be mapped.
func needsRefunds(o *wcOrder) bool { return len(o.Refunds) > 0 }

// mapped is an order in the canonical model, and what the mapping noticed.
type mapped struct {
	order         *connectors.Order
	unknownStatus bool
	noSKULines    int
}

// canonical maps an order and its refunds (the refunds' lines, read from
// GET /orders/{id}/refunds; nil when the order names none). The rules,
// also in README.md:
//
//   - Quantity is the line's quantity as WooCommerce states it. WooCommerce
//     never lowers it for a refund (a refund is a separate record with
//     negative quantities), so refunds and cancels are always progress:
//     Cancelled or Returned grow, Quantity stays.
//   - A refund line counts -quantity units of the order line its meta
//     _refunded_item_id names. Units refunded before the order completed
//     (the refund's date_created_gmt before date_completed_gmt) never
//     shipped: they are Cancelled. Units refunded at or after completion
//     are Returned, restocked when WooCommerce put them back in stock
//     (the line's _restock_refunded_items, which counts every restocked
//     refunded unit: the restocked units beyond the cancelled ones are
//     the restocked returns; the line is Restock when most of its returns
//     were).
//   - completed: every unit not cancelled Shipped. processing: nothing
//     shipped yet (open). pending and on-hold: pending (both hold stock).
//   - cancelled, failed, trash: every unit not shipped Cancelled. An order
//     that had completed (date_completed_gmt set) keeps its shipped units.
//   - refunded: as cancelled, and shipped (with its returns) if it had
//     completed.
//   - checkout-draft, draft, auto-draft: not an order (errNotAnOrder).
//   - A status the mapping does not know reserves as open.
//   - Lines without a SKU (a deleted product, a product without one) are
//     kept, NoSKU, and move no stock.
//
// What the ledger would refuse is a *refusal, before anything is clamped;
// a payload that can not be read is a plain error.
func (m mapping) canonical(o *wcOrder, refunds []wcRefund) (*mapped, error) {
	h, err := m.readHeader(o)
	if err != nil {
		return nil, err
	}
	lines, index, err := readLines(o.LineItems, h.oid)
	if err != nil {
		return nil, err
	}
	if err := h.applyRefunds(refunds, lines, index); err != nil {
		return nil, err
	}

	out := &connectors.Order{
		Channel:   m.channel,
		OrderID:   h.oid,
		UpdatedAt: h.version,
		Location:  m.location,
		Name:      orderName(o.Number),
		Lines:     make([]connectors.Line, 0, len(lines)),
	}
	if o.Shipping != nil {
		out.ShipTo = connectors.NewAddress(o.Shipping.Country, o.Shipping.State)
	}
	res := &mapped{order: out, unknownStatus: !h.known}
	var open int64
	for _, l := range lines {
		line := h.line(l)
		if line.NoSKU {
			res.noSKULines++
		}
		open += line.Open()
		out.Lines = append(out.Lines, line)
	}
	out.Status = h.status(len(out.Lines) > 0, open)
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("order %s: %w", h.oid, err)
	}
	return res, nil
}

// orderHeader is what the whole order says about each of its lines: its
// id, its status class and when (and whether) it completed.
type orderHeader struct {
	oid       string
	class     statusClass
	known     bool // the mapping knows the status
	version   time.Time
	completed time.Time // date_completed_gmt; zero when it never completed
	// shipped: the order's units left (completed, or cancelled or
	// refunded after it had completed).
	shipped bool
}

// readHeader reads and checks the order's id, status and dates, before
// any line: a draft is errNotAnOrder, a missing version a plain error.
func (m mapping) readHeader(o *wcOrder) (orderHeader, error) {
	id, err := o.ID.id("order id")
	if err != nil {
		return orderHeader{}, err
	}
	h := orderHeader{oid: strconv.FormatInt(id, 10)}
	status := strings.ToLower(strings.TrimSpace(o.Status))
	if status == "" {
		return orderHeader{}, fmt.Errorf("order %s: no status", h.oid)
	}
	h.class, h.known = m.class(status)
	if h.class == classIgnore {
		return orderHeader{}, fmt.Errorf("order %s: status %s: %w", h.oid, status, errNotAnOrder)
	}
	h.version = o.DateModifiedGMT.t
	if h.version.IsZero() {
		h.version = o.DateCreatedGMT.t
	}
	if h.version.IsZero() {
		return orderHeader{}, fmt.Errorf("order %s: no date_modified_gmt (a webhook must deliver the WP REST API Integration v3 payload)", h.oid)
	}
	if err := connectors.CheckVersionFloor("date_modified_gmt", h.version); err != nil {
		return orderHeader{}, fmt.Errorf("order %s: %w", h.oid, err)
	}
	h.completed = o.DateCompletedGMT.t
	h.shipped = h.class == classShipped || (h.endedClass() && !h.completed.IsZero())
	return h, nil
}

// endedClass says whether the status ends the order (cancelled, failed,
// trash, refunded): nothing more ships.
func (h orderHeader) endedClass() bool {
	return h.class == classCancelled || h.class == classRefunded
}

// readLines reads the order's lines in order, and indexes them by line
// id so refund lines can find the line they refund.
func readLines(items []wcLine, oid string) ([]lineState, map[int64]int, error) {
	lines := make([]lineState, 0, len(items))
	index := make(map[int64]int, len(items))
	for i := range items {
		l, err := readLine(&items[i])
		if err != nil {
			return nil, nil, fmt.Errorf("order %s: %w", oid, err)
		}
		if _, dup := index[l.id]; dup {
			return nil, nil, fmt.Errorf("order %s: line %d twice", oid, l.id)
		}
		index[l.id] = len(lines)
		lines = append(lines, l)
	}
	return lines, index, nil
}

// applyRefunds counts each refund's units on the lines they refund, as
// cancelled or returned.
func (h orderHeader) applyRefunds(refunds []wcRefund, lines []lineState, index map[int64]int) error {
	for i := range refunds {
		r := &refunds[i]
		rid, err := r.ID.id("refund id")
		if err != nil {
			return fmt.Errorf("order %s: %w", h.oid, err)
		}
		isReturn := h.isReturn(r)
		for j := range r.LineItems {
			k, units, err := h.refundLine(rid, &r.LineItems[j], index)
			if err != nil {
				return err
			}
			if k < 0 {
				continue
			}
			if isReturn {
				lines[k].returned = addCapped(lines[k].returned, units)
			} else {
				lines[k].cancelled = addCapped(lines[k].cancelled, units)
			}
		}
	}
	return nil
}

// isReturn says whether a refund is a return: one made at or after
// completion; one without a date (never seen) counts as one too when the
// order shipped.
func (h orderHeader) isReturn(r *wcRefund) bool {
	created := r.DateCreatedGMT.t
	return h.shipped && (h.completed.IsZero() || created.IsZero() || !created.Before(h.completed))
}

// refundLine reads and checks a refund line: the index of the order line
// it refunds and the units refunded. The index is -1 for a refund of a
// shipping or fee line, or of a line the order no longer has: no stock to
// move.
func (h orderHeader) refundLine(rid int64, rl *wcLine, index map[int64]int) (int, int64, error) {
	target, ok, err := rl.metaInt(metaRefundedItem)
	if err != nil {
		return 0, 0, fmt.Errorf("order %s refund %d: %w", h.oid, rid, err)
	}
	q, err := rl.Quantity.int64()
	if err != nil {
		return 0, 0, quantityError(fmt.Sprintf("order %s refund %d: quantity", h.oid, rid), err)
	}
	if q > 0 {
		return 0, 0, connectors.Refuse("quantity", "order %s refund %d: a refund line's quantity %d is positive (WooCommerce records refunded units as a negative quantity)", h.oid, rid, q)
	}
	if err := connectors.CheckQuantity(fmt.Sprintf("order %s refund %d: refunded units", h.oid, rid), -q); err != nil {
		return 0, 0, err
	}
	k, found := index[target]
	if !ok || !found {
		return -1, 0, nil
	}
	return k, -q, nil
}

// orderName is the order's number as WooCommerce shows it ("#1234"); ""
// when it has none.
func orderName(number wcText) string {
	n := strings.TrimSpace(string(number))
	if n != "" && !strings.HasPrefix(n, "#") {
		n = "#" + n
	}
	return n
}

// line maps a line as read, with its refunded units, to the canonical
// model under the order's status.
func (h orderHeader) line(l lineState) connectors.Line {
	line := connectors.Line{LineID: strconv.FormatInt(l.id, 10), SKU: l.sku, Quantity: l.quantity, NoSKU: l.sku == ""}
	if h.shipped {
		line.Cancelled = min(l.cancelled, l.quantity)
		line.Shipped = l.quantity - line.Cancelled
		line.Returned = min(l.returned, line.Shipped)
		// _restock_refunded_items counts the restocked cancels too:
		// the units beyond them are the restocked returns.
		restocked := min(max(l.restocked-l.cancelled, 0), line.Returned)
		line.Restock = line.Returned > 0 && 2*restocked >= line.Returned
		return line
	}
	line.Cancelled = min(addCapped(l.cancelled, l.returned), l.quantity)
	if h.endedClass() {
		line.Cancelled = l.quantity
	}
	return line
}

// status is the canonical order status, given whether the order has
// lines and how many of its units are still open.
func (h orderHeader) status(hasLines bool, open int64) connectors.OrderStatus {
	switch {
	case h.class == classCancelled:
		return connectors.StatusCancelled
	case h.shipped:
		return connectors.StatusShipped
	case h.class == classRefunded:
		return connectors.StatusCancelled
	case hasLines && open == 0:
		// Every unit refunded before it shipped.
		return connectors.StatusCancelled
	case h.class == classPending:
		return connectors.StatusPending
	default:
		return connectors.StatusOpen
	}
}

// lineState is an order line as read, with its refunded units.
type lineState struct {
	id        int64
	sku       string // trimmed; "" when the line has none
	quantity  int64
	restocked int64 // _restock_refunded_items
	cancelled int64 // units refunded before completion
	returned  int64 // units refunded at or after completion
}

// readLine reads and checks an order line: what the ledger would refuse
// is a *refusal.
func readLine(l *wcLine) (lineState, error) {
	id, err := l.ID.id("line id")
	if err != nil {
		return lineState{}, err
	}
	q, err := l.Quantity.int64()
	if err != nil {
		return lineState{}, quantityError(fmt.Sprintf("line %d: quantity", id), err)
	}
	if err := connectors.CheckQuantity(fmt.Sprintf("line %d: quantity", id), q); err != nil {
		return lineState{}, err
	}
	s := lineState{id: id, quantity: q}
	if l.SKU != nil {
		if err := checkSKU(*l.SKU); err != nil {
			return lineState{}, fmt.Errorf("line %d: %w", id, err)
		}
		s.sku = strings.TrimSpace(*l.SKU)
		if err := checkSKU(s.sku); err != nil {
			return lineState{}, fmt.Errorf("line %d: %w", id, err)
		}
	}
	r, ok, err := l.metaInt(metaRestocked)
	if err != nil {
		return lineState{}, fmt.Errorf("line %d: %w", id, err)
	}
	if ok {
		if err := connectors.CheckQuantity(fmt.Sprintf("line %d: %s", id, metaRestocked), r); err != nil {
			return lineState{}, err
		}
		s.restocked = r
	}
	return s, nil
}

// quantityError is a quantity that is not a whole number (a refusal:
// the ledger counts whole units) or not a number at all (malformed).
func quantityError(what string, err error) error {
	if errors.Is(err, errNotWhole) {
		return connectors.Refuse("quantity", "%s: %v", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// addCapped adds two checked quantities, never past 2·MaxQuantity (many
// refund lines of one order line can not overflow).
func addCapped(a, b int64) int64 {
	if a+b > 2*connectors.MaxQuantity {
		return 2 * connectors.MaxQuantity
	}
	return a + b
}
