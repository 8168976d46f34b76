package shopify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// carriers is the built-in carrier table: canonical name → the tracking
// company name as Shopify lists it (FulfillmentTrackingInfo.company,
// "Supported tracking companies"; capitalisation matters). A company on
// that list gets a tracking URL built by Shopify. README.md says which
// names were read on Shopify's page and which were not.
var carriers = map[string]string{
	"amazon":         "Amazon",
	"an_post":        "An Post",
	"australia_post": "Australia Post",
	"bpost":          "BPost",
	"canada_post":    "Canada Post",
	"canpar":         "Canpar",
	"china_post":     "China Post",
	"chronopost":     "Chronopost",
	"colissimo":      "Colissimo",
	"correos":        "Correos",
	"deutsche_post":  "Deutsche Post",
	"dhl":            "DHL Express",
	"dhl_ecommerce":  "DHL eCommerce",
	"dpd":            "DPD",
	"dpd_uk":         "DPD UK",
	"evri":           "Evri",
	"fedex":          "FedEx",
	"gls":            "GLS",
	"postnl":         "PostNL",
	"postnord":       "PostNord",
	"purolator":      "Purolator",
	"royal_mail":     "Royal Mail",
	"ups":            "UPS",
	"usps":           "USPS",
}

// Carriers implements connectors.ShipmentConfirmer: a copy of the
// built-in table.
func (c *Connector) Carriers() map[string]string {
	out := make(map[string]string, len(carriers))
	for k, v := range carriers {
		out[k] = v
	}
	return out
}

// GraphQL shapes of ShelfsyncShipOrder and ShelfsyncFulfillmentOrders.
type shipOrder struct {
	ID                string            `json:"id"`
	CancelledAt       *time.Time        `json:"cancelledAt"`
	Fulfillments      []shipFulfillment `json:"fulfillments"`
	FulfillmentOrders struct {
		PageInfo gqlPageInfo        `json:"pageInfo"`
		Nodes    []fulfillmentOrder `json:"nodes"`
	} `json:"fulfillmentOrders"`
}

type shipFulfillment struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	TrackingInfo []struct {
		Company *string `json:"company"`
		Number  *string `json:"number"`
		URL     *string `json:"url"`
	} `json:"trackingInfo"`
	FulfillmentLineItems struct {
		PageInfo gqlPageInfo `json:"pageInfo"`
		Nodes    []struct {
			Quantity int64 `json:"quantity"`
			LineItem struct {
				ID string `json:"id"`
			} `json:"lineItem"`
		} `json:"nodes"`
	} `json:"fulfillmentLineItems"`
}

type fulfillmentOrder struct {
	ID               string `json:"id"`
	Status           string `json:"status"`
	AssignedLocation *struct {
		Location *struct {
			ID string `json:"id"`
		} `json:"location"`
	} `json:"assignedLocation"`
	LineItems struct {
		PageInfo gqlPageInfo `json:"pageInfo"`
		Nodes    []struct {
			ID                string `json:"id"`
			RemainingQuantity int64  `json:"remainingQuantity"`
			LineItem          struct {
				ID string `json:"id"`
			} `json:"lineItem"`
		} `json:"nodes"`
	} `json:"lineItems"`
}

func (f *fulfillmentOrder) location() string {
	if f.AssignedLocation == nil || f.AssignedLocation.Location == nil {
		return ""
	}
	return f.AssignedLocation.Location.ID
}

// fulfillable says whether Shopify takes a fulfillment for the
// fulfillment order: OPEN and IN_PROGRESS ones (FulfillmentOrderStatus;
// ON_HOLD and SCHEDULED wait for the merchant, CLOSED, CANCELLED and
// INCOMPLETE are done).
func (f *fulfillmentOrder) fulfillable() bool {
	return f.Status == "OPEN" || f.Status == "IN_PROGRESS"
}

// ConfirmShipment implements connectors.ShipmentConfirmer with
// fulfillmentCreate. It reads the order's fulfillments and fulfillment
// orders first: units already fulfilled under the shipment's tracking
// number count as done (a retry after a lost answer fulfils nothing
// twice), the rest are placed on the fulfillment order line items of
// their order lines, one fulfillmentCreate per assigned location.
// Shopify judges the quantities: its userErrors refuse the shipment,
// unless a read after them finds the units fulfilled under this tracking.
func (c *Connector) ConfirmShipment(ctx context.Context, s connectors.Shipment) (connectors.ShipmentResult, error) {
	want, reason := shipmentUnits(s)
	if reason != "" {
		return refused(reason), nil
	}
	o, res, err := c.readShipOrder(ctx, s.OrderID)
	if o == nil {
		return res, err
	}
	rest, ref := o.untracked(want, s.TrackingNumber)
	if len(rest) == 0 {
		return connectors.ShipmentResult{Status: connectors.ShipmentConfirmed, Ref: ref}, nil
	}
	if o.CancelledAt != nil {
		return refused("the order is cancelled on Shopify"), nil
	}
	groups, reason := o.allocate(rest)
	if reason != "" {
		return refused(reason), nil
	}
	refs := []string{}
	if ref != "" {
		refs = append(refs, ref)
	}
	for _, g := range groups {
		id, userErrs, err := c.createFulfillment(ctx, g, s)
		if err != nil {
			return shipmentError(err)
		}
		if len(userErrs) > 0 {
			return c.afterUserErrors(ctx, s, want, userErrs)
		}
		refs = append(refs, id)
	}
	return connectors.ShipmentResult{Status: connectors.ShipmentConfirmed, Ref: strings.Join(refs, ",")}, nil
}

func refused(reason string) connectors.ShipmentResult {
	return connectors.ShipmentResult{Status: connectors.ShipmentRefused, Reason: reason}
}

// shipmentUnits sums the shipment's units per numeric line id, or says
// why the shipment can not be sent.
func shipmentUnits(s connectors.Shipment) (map[string]int64, string) {
	if numericID(s.OrderID) == "" {
		return nil, fmt.Sprintf("order id %q is not a Shopify order id", s.OrderID)
	}
	if strings.TrimSpace(s.TrackingNumber) == "" {
		return nil, "no tracking number"
	}
	if len(s.Lines) == 0 {
		return nil, "no lines"
	}
	want := map[string]int64{}
	for _, l := range s.Lines {
		id := numericID(l.LineID)
		if id == "" || l.Quantity <= 0 {
			return nil, fmt.Sprintf("line %q quantity %d: not a Shopify line id or not a positive quantity", l.LineID, l.Quantity)
		}
		want[id] += l.Quantity
	}
	return want, ""
}

// readShipOrder reads the order's fulfillments and fulfillment orders:
// small pages first (opShipOrder), the full sizes (opFulfillmentOrders)
// only when that read was cut short. A nil order comes with the result to
// answer (refused: not found) or the error to return.
func (c *Connector) readShipOrder(ctx context.Context, orderID string) (*shipOrder, connectors.ShipmentResult, error) {
	var o *shipOrder
	for _, op := range []operation{opShipOrder, opFulfillmentOrders} {
		var out struct {
			Order *shipOrder `json:"order"`
		}
		if err := c.graphql(ctx, op, map[string]any{"id": gid("Order", numericID(orderID))}, &out); err != nil {
			res, err := shipmentError(err)
			return nil, res, err
		}
		if out.Order == nil {
			return nil, refused("order " + orderID + " not found on Shopify"), nil
		}
		if o = out.Order; !o.cutShort(shipSmallFirst) {
			break
		}
	}
	return o, connectors.ShipmentResult{}, nil
}

// cutShort says whether a read of n fulfillments may have left some out:
// n of them came back (a list, without pageInfo), or one of them, the
// fulfillment orders or their lines have a next page.
func (o *shipOrder) cutShort(n int) bool {
	if len(o.Fulfillments) >= n || o.truncated() {
		return true
	}
	for _, f := range o.Fulfillments {
		if f.FulfillmentLineItems.PageInfo.HasNextPage {
			return true
		}
	}
	return false
}

// untracked is what of want is not yet in a fulfillment under tracking
// (failed and cancelled fulfillments do not count), and the ids of the
// fulfillments that hold the rest.
func (o *shipOrder) untracked(want map[string]int64, tracking string) (map[string]int64, string) {
	done := map[string]int64{}
	var refs []string
	for _, f := range o.Fulfillments {
		if f.Status == "CANCELLED" || f.Status == "ERROR" || f.Status == "FAILURE" || !f.hasTracking(tracking) {
			continue
		}
		refs = append(refs, f.ID)
		for _, n := range f.FulfillmentLineItems.Nodes {
			done[numericID(n.LineItem.ID)] += n.Quantity
		}
	}
	rest := map[string]int64{}
	for line, q := range want {
		if left := q - done[line]; left > 0 {
			rest[line] = left
		}
	}
	if len(rest) == len(want) {
		refs = nil // none of these units is there yet
	}
	return rest, strings.Join(refs, ",")
}

func (f *shipFulfillment) hasTracking(number string) bool {
	number = strings.TrimSpace(number)
	for _, t := range f.TrackingInfo {
		if t.Number != nil && strings.EqualFold(strings.TrimSpace(*t.Number), number) {
			return true
		}
	}
	return false
}

// foItem is units of one fulfillment order line item to fulfil.
type foItem struct {
	ID       string `json:"id"`
	Quantity int64  `json:"quantity"`
}

// foGroup is what one fulfillmentCreate fulfils: fulfillment orders of
// one assigned location, in the order read.
type foGroup struct {
	location string
	orders   []string            // fulfillment order ids
	items    map[string][]foItem // by fulfillment order id
}

// allocate places each line's units on its fulfillable fulfillment order
// line items, remaining quantity first; units beyond every remaining
// quantity go on the line's first item, for Shopify to refuse. It says
// why when a line has no fulfillable item.
func (o *shipOrder) allocate(rest map[string]int64) ([]*foGroup, string) {
	lines := make([]string, 0, len(rest))
	for l := range rest {
		lines = append(lines, l)
	}
	slices.Sort(lines)
	var groups []*foGroup
	byLoc := map[string]*foGroup{}
	for _, line := range lines {
		picks, reason := o.pick(line, rest[line])
		if reason != "" {
			return nil, reason
		}
		for _, p := range picks {
			g := byLoc[p.fo.location()]
			if g == nil {
				g = &foGroup{location: p.fo.location(), items: map[string][]foItem{}}
				byLoc[g.location] = g
				groups = append(groups, g)
			}
			if _, ok := g.items[p.fo.ID]; !ok {
				g.orders = append(g.orders, p.fo.ID)
			}
			g.items[p.fo.ID] = append(g.items[p.fo.ID], foItem{ID: p.item, Quantity: p.qty})
		}
	}
	return groups, ""
}

type pick struct {
	fo   *fulfillmentOrder
	item string
	qty  int64
}

// pick chooses the fulfillment order line items of one line for qty units.
func (o *shipOrder) pick(line string, qty int64) ([]pick, string) {
	var picks []pick
	var seenStatus []string
	for i := range o.FulfillmentOrders.Nodes {
		fo := &o.FulfillmentOrders.Nodes[i]
		for _, n := range fo.LineItems.Nodes {
			if numericID(n.LineItem.ID) != line {
				continue
			}
			if !fo.fulfillable() {
				seenStatus = append(seenStatus, strings.ToLower(fo.Status))
				continue
			}
			if take := min(qty, n.RemainingQuantity); take > 0 {
				picks = append(picks, pick{fo: fo, item: n.ID, qty: take})
				qty -= take
			} else if len(picks) == 0 {
				picks = append(picks, pick{fo: fo, item: n.ID})
			}
		}
	}
	switch {
	case len(picks) == 0 && len(seenStatus) > 0:
		return nil, fmt.Sprintf("line %s: its fulfillment orders are %s, none open", line, strings.Join(seenStatus, ", "))
	case len(picks) == 0 && o.truncated():
		return nil, fmt.Sprintf("line %s: not among the fulfillment order lines read (at most %d orders of %d lines)", line, shipFulfillmentOrdersFirst, shipLinesFirst)
	case len(picks) == 0:
		return nil, fmt.Sprintf("line %s is on no fulfillment order of the order", line)
	}
	picks[0].qty += qty // beyond what Shopify says remains: Shopify refuses it
	return slices.DeleteFunc(picks, func(p pick) bool { return p.qty == 0 }), ""
}

func (o *shipOrder) truncated() bool {
	if o.FulfillmentOrders.PageInfo.HasNextPage {
		return true
	}
	for _, fo := range o.FulfillmentOrders.Nodes {
		if fo.LineItems.PageInfo.HasNextPage {
			return true
		}
	}
	return false
}

// createFulfillment sends one fulfillmentCreate and returns the new
// fulfillment's id, or Shopify's user errors.
func (c *Connector) createFulfillment(ctx context.Context, g *foGroup, s connectors.Shipment) (string, []userError, error) {
	byFO := make([]map[string]any, 0, len(g.orders))
	for _, fo := range g.orders {
		byFO = append(byFO, map[string]any{"fulfillmentOrderId": fo, "fulfillmentOrderLineItems": g.items[fo]})
	}
	tracking := map[string]any{"number": strings.TrimSpace(s.TrackingNumber)}
	if company := shipCompany(s); company != "" {
		tracking["company"] = company
	}
	if s.TrackingURL != "" {
		tracking["url"] = s.TrackingURL
	}
	vars := map[string]any{
		"fulfillment": map[string]any{
			"lineItemsByFulfillmentOrder": byFO,
			"notifyCustomer":              c.notifyCustomer,
			"trackingInfo":                tracking,
		},
		"message": "shelfsync shipment " + s.ID,
	}
	var out struct {
		FulfillmentCreate *struct {
			Fulfillment *struct {
				ID string `json:"id"`
			} `json:"fulfillment"`
			UserErrors []userError `json:"userErrors"`
		} `json:"fulfillmentCreate"`
	}
	if err := c.graphql(ctx, opFulfillmentCreate, vars, &out); err != nil {
		return "", nil, err
	}
	p := out.FulfillmentCreate
	switch {
	case p == nil:
		return "", nil, errors.New("shopify fulfillmentCreate: answer without fulfillmentCreate")
	case len(p.UserErrors) > 0:
		return "", p.UserErrors, nil
	case p.Fulfillment == nil:
		return "", nil, errors.New("shopify fulfillmentCreate: no fulfillment and no user error")
	}
	return p.Fulfillment.ID, nil, nil
}

// shipCompany is the tracking company to send: the channel's code for the
// carrier, else the carrier as given.
func shipCompany(s connectors.Shipment) string {
	if s.CarrierCode != "" {
		return s.CarrierCode
	}
	if name, ok := carriers[strings.ToLower(s.Carrier)]; ok {
		return name
	}
	return s.Carrier
}

// afterUserErrors reads the order again after Shopify refused a
// fulfillment: when every unit is now fulfilled under the tracking number
// (an earlier attempt whose answer was lost, or this one's other
// location), the shipment is confirmed; otherwise it is refused with
// Shopify's messages.
func (c *Connector) afterUserErrors(ctx context.Context, s connectors.Shipment, want map[string]int64, errs []userError) (connectors.ShipmentResult, error) {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		m := e.Message
		if len(e.Field) > 0 {
			m = strings.Join(e.Field, ".") + ": " + m
		}
		msgs = append(msgs, m)
	}
	o, res, err := c.readShipOrder(ctx, s.OrderID)
	if o == nil {
		return res, err
	}
	if rest, ref := o.untracked(want, s.TrackingNumber); len(rest) == 0 {
		return connectors.ShipmentResult{Status: connectors.ShipmentConfirmed, Ref: ref}, nil
	}
	return refused("Shopify refused the fulfillment: " + strings.Join(msgs, "; ")), nil
}

// shipmentError maps a failed call: a throttle, a 429 or a 5xx (also
// Shopify's INTERNAL_SERVER_ERROR) is a retry with Shopify's wait; a 401
// or 403 (or ACCESS_DENIED) and transport or context failures are the
// error; other refusals of the request itself are refused.
func shipmentError(err error) (connectors.ShipmentResult, error) {
	var te *throttledError
	var se *statusError
	var ge *graphqlError
	switch {
	case errors.As(err, &te):
		return connectors.ShipmentResult{Status: connectors.ShipmentRetry, Reason: "throttled by Shopify", RetryAfter: te.Wait, Throttled: true}, nil
	case errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden):
		return connectors.ShipmentResult{}, err
	case errors.As(err, &se) && (se.Status == http.StatusTooManyRequests || se.Status >= 500):
		return connectors.ShipmentResult{Status: connectors.ShipmentRetry, Reason: fmt.Sprintf("HTTP %d", se.Status), RetryAfter: se.RetryAfter,
			Throttled: se.Status == http.StatusTooManyRequests}, nil
	case errors.As(err, &se):
		return refused(err.Error()), nil
	case errors.As(err, &ge) && ge.code() == "ACCESS_DENIED":
		return connectors.ShipmentResult{}, err
	case errors.As(err, &ge) && ge.code() == "INTERNAL_SERVER_ERROR":
		return connectors.ShipmentResult{Status: connectors.ShipmentRetry, Reason: err.Error()}, nil
	case errors.As(err, &ge):
		return refused(err.Error()), nil
	}
	return connectors.ShipmentResult{}, err
}
