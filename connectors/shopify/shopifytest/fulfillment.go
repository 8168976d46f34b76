package shopifytest

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// FulfillmentOrder is a group of an order's lines to be fulfilled from
// one location (Shopify creates them with the order; the fake too, see
// AddOrder). Status "" is computed: CANCELLED for a cancelled order,
// CLOSED when nothing remains, IN_PROGRESS when something was fulfilled,
// OPEN otherwise; set it (ON_HOLD, SCHEDULED…) to hold the order.
type FulfillmentOrder struct {
	ID         int64
	LocationID string // GID; "" is the store's location
	Status     string
	Lines      []FulfillmentOrderLine
}

// FulfillmentOrderLine is one order line's units on a fulfillment order:
// Quantity assigned, Fulfilled through fulfillmentCreate.
type FulfillmentOrderLine struct {
	ID        int64
	LineID    int64
	Quantity  int64
	Fulfilled int64
}

// CreatedFulfillment is one fulfillment fulfillmentCreate made, for test
// assertions.
type CreatedFulfillment struct {
	OrderID     int64
	Fulfillment Fulfillment
}

func foGID(id int64) string { return "gid://shopify/FulfillmentOrder/" + strconv.FormatInt(id, 10) }
func foliGID(id int64) string {
	return "gid://shopify/FulfillmentOrderLineItem/" + strconv.FormatInt(id, 10)
}
func fulfillmentGID(id int64) string {
	return "gid://shopify/Fulfillment/" + strconv.FormatInt(id, 10)
}

// fulfillmentOrdersLocked gives o one fulfillment order of all its lines
// at the store's location when it has none, deep-copies the ones it has,
// and assigns missing ids. s.mu is held.
func (s *Server) fulfillmentOrdersLocked(o *Order) {
	if o.FulfillmentOrders == nil {
		fo := FulfillmentOrder{}
		for _, l := range o.Lines {
			fo.Lines = append(fo.Lines, FulfillmentOrderLine{LineID: l.ID, Quantity: l.Quantity})
		}
		o.FulfillmentOrders = []FulfillmentOrder{fo}
	}
	fos := make([]FulfillmentOrder, len(o.FulfillmentOrders))
	for i, fo := range o.FulfillmentOrders {
		fo.Lines = append([]FulfillmentOrderLine(nil), fo.Lines...)
		if fo.ID == 0 {
			s.nextID++
			fo.ID = s.nextID
		}
		if fo.LocationID == "" {
			fo.LocationID = s.opts.LocationID
		}
		for j := range fo.Lines {
			if fo.Lines[j].ID == 0 {
				s.nextID++
				fo.Lines[j].ID = s.nextID
			}
		}
		fos[i] = fo
	}
	o.FulfillmentOrders = fos
}

// remaining is what can still be fulfilled of a fulfillment order line:
// its own open units, no more than the order line's (its current
// quantity less every successful fulfillment, made here or given).
func (o *Order) remaining(fl FulfillmentOrderLine) int64 {
	var open int64
	for _, l := range o.Lines {
		if l.ID == fl.LineID {
			open = o.currentQuantity(l) - o.fulfilled(l.ID)
		}
	}
	return max(0, min(fl.Quantity-fl.Fulfilled, open))
}

func (o *Order) foStatus(fo *FulfillmentOrder) string {
	if fo.Status != "" {
		return strings.ToUpper(fo.Status)
	}
	if o.CancelledAt != nil {
		return "CANCELLED"
	}
	var left, done int64
	for _, fl := range fo.Lines {
		left += o.remaining(fl)
		done += fl.Fulfilled
	}
	switch {
	case left == 0:
		return "CLOSED"
	case done > 0:
		return "IN_PROGRESS"
	}
	return "OPEN"
}

// CreatedFulfillments lists what fulfillmentCreate made, in order.
func (s *Server) CreatedFulfillments() []CreatedFulfillment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CreatedFulfillment(nil), s.created...)
}

// FailNext answers the next n GraphQL requests with HTTP status (and a
// Retry-After header when retryAfter is not ""), before anything runs.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus, s.failRetryAfter = n, status, retryAfter
}

// LoseNextAnswer makes the next call of the operation op run, and then
// answers HTTP 502 instead of its result: an answer lost after Shopify
// applied the call.
func (s *Server) LoseNextAnswer(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose = op
}

// serveFulfillmentOrders is ShelfsyncFulfillmentOrders: the order's
// fulfillments with their tracking, and its fulfillment orders with the
// remaining quantity of each line.
func (s *Server) serveFulfillmentOrders(req *gqlRequest) (any, []gqlError) {
	o := s.orderByGID(req)
	if o == nil {
		return map[string]any{"order": nil}, nil
	}
	return map[string]any{"order": map[string]any{
		"id":                orderGID(o.ID),
		"cancelledAt":       timeOrNil(o.CancelledAt),
		"fulfillments":      s.fulfillmentNodes(o, req.Query),
		"fulfillmentOrders": s.foConnection(o, req.Query),
	}}, nil
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Server) fulfillmentNodes(o *Order, query string) []any {
	first := s.firstArg(query, "fulfillments", 5)
	linesFirst := s.firstArg(query, "fulfillmentLineItems", 10)
	out := []any{}
	for i, f := range o.Fulfillments {
		if i == first {
			break
		}
		tracking := []any{}
		if f.Tracking != nil {
			tracking = append(tracking, map[string]any{"company": f.Tracking.Company, "number": f.Tracking.Number, "url": f.Tracking.URL})
		}
		nodes := []any{}
		for _, l := range o.Lines {
			if q, ok := f.Lines[l.ID]; ok && len(nodes) < linesFirst {
				nodes = append(nodes, map[string]any{"quantity": q, "lineItem": map[string]any{"id": lineGID(l.ID)}})
			}
		}
		out = append(out, map[string]any{
			"id": fulfillmentGID(f.ID), "status": strings.ToUpper(f.Status), "trackingInfo": tracking,
			"fulfillmentLineItems": map[string]any{"pageInfo": map[string]any{"hasNextPage": len(f.Lines) > linesFirst}, "nodes": nodes},
		})
	}
	return out
}

func (s *Server) foConnection(o *Order, query string) map[string]any {
	first := s.firstArg(query, "fulfillmentOrders", 10)
	linesFirst := s.firstArg(query, "lineItems", 25)
	nodes := []any{}
	for i := range o.FulfillmentOrders {
		if i == first {
			break
		}
		fo := &o.FulfillmentOrders[i]
		lines := []any{}
		for j, fl := range fo.Lines {
			if j == linesFirst {
				break
			}
			lines = append(lines, map[string]any{"id": foliGID(fl.ID), "remainingQuantity": o.remaining(fl), "lineItem": map[string]any{"id": lineGID(fl.LineID)}})
		}
		nodes = append(nodes, map[string]any{
			"id": foGID(fo.ID), "status": o.foStatus(fo),
			"assignedLocation": map[string]any{"location": map[string]any{"id": fo.LocationID}},
			"lineItems":        map[string]any{"pageInfo": map[string]any{"hasNextPage": len(fo.Lines) > linesFirst}, "nodes": lines},
		})
	}
	return map[string]any{"pageInfo": map[string]any{"hasNextPage": len(o.FulfillmentOrders) > first}, "nodes": nodes}
}

// fulfillmentInput is FulfillmentInput as the fake reads it.
type fulfillmentInput struct {
	LineItemsByFulfillmentOrder []struct {
		FulfillmentOrderID        string `json:"fulfillmentOrderId"`
		FulfillmentOrderLineItems []struct {
			ID       string `json:"id"`
			Quantity int64  `json:"quantity"`
		} `json:"fulfillmentOrderLineItems"`
	} `json:"lineItemsByFulfillmentOrder"`
	NotifyCustomer bool           `json:"notifyCustomer"`
	TrackingInfo   *trackingInput `json:"trackingInfo"`
}

// trackingInput is FulfillmentTrackingInput.
type trackingInput struct {
	Company string `json:"company"`
	Number  string `json:"number"`
	URL     string `json:"url"`
}

// foRef is a fulfillment order the input names, found in its order.
type foRef struct {
	order *Order
	fo    *FulfillmentOrder
}

// fulfillmentChange is units of one fulfillment order line to fulfil.
type fulfillmentChange struct {
	fl  *FulfillmentOrderLine
	qty int64
}

// serveFulfillmentCreate is fulfillmentCreate: $fulfillment must name at
// least one fulfillment order (else a GraphQL error, nothing run); the
// fulfillment orders must exist, belong to one order and one location and
// be OPEN or IN_PROGRESS; each line item must be the fulfillment order's,
// for 1 up to its remaining quantity (none listed: all that remains); a
// tracking URL must be an http(s) URL. Any failure is a user error and
// nothing is fulfilled; otherwise one SUCCESS fulfillment is recorded.
func (s *Server) serveFulfillmentCreate(req *gqlRequest) (any, []gqlError) {
	var in fulfillmentInput
	if err := json.Unmarshal(req.Variables["fulfillment"], &in); err != nil || len(in.LineItemsByFulfillmentOrder) == 0 {
		return nil, []gqlError{{Message: "Variable $fulfillment of type FulfillmentInput! was provided invalid value for lineItemsByFulfillmentOrder (Expected value to not be null)", Extensions: map[string]any{"code": "INVALID_VARIABLE"}}}
	}
	refs, uerr := s.fulfillmentOrdersOf(&in)
	if uerr != nil {
		return fulfillmentPayload(nil, []userError{*uerr}), nil
	}
	changes, uerr := checkFulfillmentLines(&in, refs)
	if uerr == nil {
		uerr = checkTracking(&in)
	}
	if uerr != nil {
		return fulfillmentPayload(nil, []userError{*uerr}), nil
	}
	f := s.applyFulfillment(refs[0].order, &in, changes)
	return fulfillmentPayload(map[string]any{"id": fulfillmentGID(f.ID), "status": "SUCCESS"}, nil), nil
}

func fulfillmentPayload(f any, errs []userError) map[string]any {
	if errs == nil {
		errs = []userError{}
	}
	return map[string]any{"fulfillmentCreate": map[string]any{"fulfillment": f, "userErrors": errs}}
}

func foField(i int, rest ...string) []string {
	return append([]string{"fulfillment", "lineItemsByFulfillmentOrder", strconv.Itoa(i)}, rest...)
}

// fulfillmentOrdersOf finds the fulfillment orders the input names and
// checks they can be fulfilled together. s.mu is held.
func (s *Server) fulfillmentOrdersOf(in *fulfillmentInput) ([]foRef, *userError) {
	refs := make([]foRef, 0, len(in.LineItemsByFulfillmentOrder))
	for i, e := range in.LineItemsByFulfillmentOrder {
		ref, ok := s.findFO(e.FulfillmentOrderID)
		if !ok {
			return nil, &userError{Field: foField(i, "fulfillmentOrderId"), Message: "Fulfillment order does not exist."}
		}
		if len(refs) > 0 && (ref.order != refs[0].order || ref.fo.LocationID != refs[0].fo.LocationID) {
			return nil, &userError{Field: foField(i, "fulfillmentOrderId"), Message: "All fulfillment orders must belong to the same order and be assigned to the same location."}
		}
		if st := ref.order.foStatus(ref.fo); st != "OPEN" && st != "IN_PROGRESS" {
			return nil, &userError{Field: foField(i, "fulfillmentOrderId"), Message: "Fulfillment order " + e.FulfillmentOrderID + " has an unfulfillable status= " + strings.ToLower(st) + "."}
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

func (s *Server) findFO(gid string) (foRef, bool) {
	id, err := strconv.ParseInt(strings.TrimPrefix(gid, "gid://shopify/FulfillmentOrder/"), 10, 64)
	if err != nil || !strings.HasPrefix(gid, "gid://shopify/FulfillmentOrder/") {
		return foRef{}, false
	}
	for _, o := range s.orders {
		for i := range o.FulfillmentOrders {
			if o.FulfillmentOrders[i].ID == id {
				return foRef{order: o, fo: &o.FulfillmentOrders[i]}, true
			}
		}
	}
	return foRef{}, false
}

// checkFulfillmentLines checks each entry's line items against its
// fulfillment order and returns the units to fulfil.
func checkFulfillmentLines(in *fulfillmentInput, refs []foRef) ([]fulfillmentChange, *userError) {
	var changes []fulfillmentChange
	asked := map[*FulfillmentOrderLine]int64{}
	for i, e := range in.LineItemsByFulfillmentOrder {
		ref := refs[i]
		if len(e.FulfillmentOrderLineItems) == 0 {
			for j := range ref.fo.Lines {
				fl := &ref.fo.Lines[j]
				if q := ref.order.remaining(*fl); q > 0 {
					changes = append(changes, fulfillmentChange{fl: fl, qty: q})
				}
			}
			continue
		}
		for k, li := range e.FulfillmentOrderLineItems {
			fl := ref.fo.line(li.ID)
			field := foField(i, "fulfillmentOrderLineItems", strconv.Itoa(k))
			if fl == nil {
				return nil, &userError{Field: append(field, "id"), Message: "Fulfillment order line item does not exist on the fulfillment order."}
			}
			asked[fl] += li.Quantity
			if li.Quantity < 1 || asked[fl] > ref.order.remaining(*fl) {
				return nil, &userError{Field: append(field, "quantity"), Message: "Invalid fulfillment order line item quantity requested."}
			}
			changes = append(changes, fulfillmentChange{fl: fl, qty: li.Quantity})
		}
	}
	return changes, nil
}

func (fo *FulfillmentOrder) line(gid string) *FulfillmentOrderLine {
	for i := range fo.Lines {
		if foliGID(fo.Lines[i].ID) == gid {
			return &fo.Lines[i]
		}
	}
	return nil
}

func checkTracking(in *fulfillmentInput) *userError {
	if in.TrackingInfo == nil || in.TrackingInfo.URL == "" {
		return nil
	}
	u, err := url.Parse(in.TrackingInfo.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &userError{Field: []string{"fulfillment", "trackingInfo", "url"}, Message: "Tracking url is invalid."}
	}
	return nil
}

// applyFulfillment records the fulfillment on the order. s.mu is held.
func (s *Server) applyFulfillment(o *Order, in *fulfillmentInput, changes []fulfillmentChange) Fulfillment {
	s.nextID++
	f := Fulfillment{ID: s.nextID, Status: "SUCCESS", Lines: map[int64]int64{}, NotifyCustomer: in.NotifyCustomer}
	if t := in.TrackingInfo; t != nil {
		f.Tracking = &Tracking{Company: t.Company, Number: t.Number, URL: t.URL}
	}
	for _, c := range changes {
		c.fl.Fulfilled += c.qty
		f.Lines[c.fl.LineID] += c.qty
	}
	o.Fulfillments = append(o.Fulfillments, f)
	o.UpdatedAt = wholeSeconds(time.Now())
	s.created = append(s.created, CreatedFulfillment{OrderID: o.ID, Fulfillment: f})
	return f
}

// Fulfill fulfils units of order lines (line id → units) as the admin or
// another app would, from the first fulfillment orders with units left,
// under tracking: for tests of fulfillments made outside the connector.
func (s *Server) Fulfill(orderID int64, tracking Tracking, lines map[int64]int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[orderID]
	if o == nil {
		return false
	}
	var changes []fulfillmentChange
	for i := range o.FulfillmentOrders {
		for j := range o.FulfillmentOrders[i].Lines {
			fl := &o.FulfillmentOrders[i].Lines[j]
			if take := min(lines[fl.LineID], o.remaining(*fl)); take > 0 {
				changes = append(changes, fulfillmentChange{fl: fl, qty: take})
				lines[fl.LineID] -= take
			}
		}
	}
	in := fulfillmentInput{TrackingInfo: &trackingInput{Company: tracking.Company, Number: tracking.Number, URL: tracking.URL}}
	s.applyFulfillment(o, &in, changes)
	return true
}

// BeforeNext runs f once, just before the next call of the operation op
// is executed (s is not locked while f runs): for races with another
// client of the store.
func (s *Server) BeforeNext(op string, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before = map[string]func(){op: f}
}
