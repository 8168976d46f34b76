package shopifytest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// operation is one GraphQL operation the fake serves: its requested cost
// (roughly Shopify's: 2 + first × nodes per connection), its actual cost
// and its answer. Shopify takes the requested cost before a query runs
// and refunds the difference to the actual cost (the objects the answer
// holds) after it; actual, when set, is that cost of the answer data
// (never above the requested one); without it the requested cost is
// kept, which is never less than Shopify charges. serve runs with s.mu
// held.
type operation struct {
	cost   func(s *Server, req *gqlRequest) float64
	actual func(data any) float64
	serve  func(s *Server, req *gqlRequest) (data any, errs []gqlError)
}

var handlers = map[string]operation{
	"ShelfsyncOrders": {
		cost: func(s *Server, req *gqlRequest) float64 {
			return 2 + float64(intVar(req, "first", 1))*30
		},
		serve: (*Server).serveOrders,
	},
	"ShelfsyncOrder": {
		cost:  func(*Server, *gqlRequest) float64 { return 30 },
		serve: (*Server).serveOrder,
	},
	"ShelfsyncOrderLines": {
		cost:  func(s *Server, req *gqlRequest) float64 { return 3 + float64(s.firstArg(req.Query, "lineItems", 100)) },
		serve: (*Server).serveOrderLines,
	},
	"ShelfsyncVariants": {
		cost: func(s *Server, req *gqlRequest) float64 {
			return 2 + float64(s.firstArg(req.Query, "productVariants", 250))/5
		},
		serve: (*Server).serveVariants,
	},
	"ShelfsyncLevels": {
		cost: func(s *Server, req *gqlRequest) float64 {
			var ids []string
			_ = json.Unmarshal(req.Variables["ids"], &ids)
			return 1 + 2*float64(len(ids))
		},
		serve: (*Server).serveLevels,
	},
	"ShelfsyncAllLevels": {
		cost: func(s *Server, req *gqlRequest) float64 {
			var ids []string
			_ = json.Unmarshal(req.Variables["ids"], &ids)
			return 1 + float64(len(ids))*(2+float64(s.firstArg(req.Query, "inventoryLevels", 50)))
		},
		serve: (*Server).serveAllLevels,
	},
	"ShelfsyncSetQuantities": {
		cost:  func(*Server, *gqlRequest) float64 { return 10 },
		serve: (*Server).serveSetQuantities,
	},
	"ShelfsyncFulfillmentOrders": fulfillmentOrdersOp,
	"ShelfsyncShipOrder":         fulfillmentOrdersOp,
	"ShelfsyncFulfillmentCreate": {
		cost:  func(*Server, *gqlRequest) float64 { return 10 },
		serve: (*Server).serveFulfillmentCreate,
	},
}

// fulfillmentOrdersOp serves the shipment confirmation's read of an
// order's fulfillments and fulfillment orders, under either name the
// connector gives it (its small first read and its full one): requested
// 2 + fulfillments × (3 + their lines) + 2 + fulfillment orders × (4 +
// their lines), by the page sizes the document asks for; actual the same
// sum over what the answer holds.
var fulfillmentOrdersOp = operation{
	cost: func(s *Server, req *gqlRequest) float64 {
		return 2 + float64(s.firstArg(req.Query, "fulfillments", 5))*(3+float64(s.firstArg(req.Query, "fulfillmentLineItems", 10))) +
			2 + float64(s.firstArg(req.Query, "fulfillmentOrders", 10))*(4+float64(s.firstArg(req.Query, "lineItems", 25)))
	},
	actual: fulfillmentOrdersActual,
	serve:  (*Server).serveFulfillmentOrders,
}

// fulfillmentOrdersActual is the actual cost of serveFulfillmentOrders'
// answer: the requested formula over the nodes it returned.
func fulfillmentOrdersActual(data any) float64 {
	order, _ := data.(map[string]any)["order"].(map[string]any)
	if order == nil {
		return 1
	}
	cost := 4.0
	fs, _ := order["fulfillments"].([]any)
	for _, f := range fs {
		lines, _ := f.(map[string]any)["fulfillmentLineItems"].(map[string]any)["nodes"].([]any)
		cost += 3 + float64(len(lines))
	}
	fos, _ := order["fulfillmentOrders"].(map[string]any)["nodes"].([]any)
	for _, fo := range fos {
		lines, _ := fo.(map[string]any)["lineItems"].(map[string]any)["nodes"].([]any)
		cost += 4 + float64(len(lines))
	}
	return cost
}

func cursor(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func cursorOffset(c string) int {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "offset:") {
		return 0
	}
	return atoi(strings.TrimPrefix(string(b), "offset:"), 0)
}

func pageInfo(end, total int) map[string]any {
	pi := map[string]any{"hasNextPage": end < total, "endCursor": nil}
	if end > 0 {
		pi["endCursor"] = cursor(end)
	}
	return pi
}

var updatedSinceRE = regexp.MustCompile(`updated_at:>=\s*'?"?([0-9T:.+\-Z]+)`)

func (s *Server) serveOrders(req *gqlRequest) (any, []gqlError) {
	first := intVar(req, "first", 50)
	if s.opts.MaxPageSize > 0 && first > s.opts.MaxPageSize {
		first = s.opts.MaxPageSize
	}
	if first < 1 || first > 250 {
		return nil, []gqlError{{Message: "first must be between 1 and 250"}}
	}
	var since time.Time
	if m := updatedSinceRE.FindStringSubmatch(strVar(req, "query")); m != nil {
		t, err := time.Parse(time.RFC3339, m[1])
		if err != nil {
			return nil, []gqlError{{Message: "shopifytest: bad updated_at in query: " + m[1]}}
		}
		since = t
	}
	var list []*Order
	for _, o := range s.orders {
		if !o.UpdatedAt.Before(since) {
			list = append(list, o)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].UpdatedAt.Equal(list[j].UpdatedAt) {
			return list[i].UpdatedAt.Before(list[j].UpdatedAt)
		}
		return list[i].ID < list[j].ID
	})
	start := min(cursorOffset(strVar(req, "after")), len(list))
	end := min(start+first, len(list))
	nodes := []any{}
	var errs []gqlError
	linesFirst := s.firstArg(req.Query, "lineItems", 50)
	for i, o := range list[start:end] {
		n := o.graphQL(linesFirst)
		errs = append(errs, s.shipToLocked(req, n, o, "orders", "nodes", i)...)
		nodes = append(nodes, n)
	}
	return map[string]any{"orders": map[string]any{"pageInfo": pageInfo(end, len(list)), "nodes": nodes}}, errs
}

func (s *Server) orderByGID(req *gqlRequest) *Order {
	id := strVar(req, "id")
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "gid://shopify/Order/"), 10, 64)
	if err != nil {
		return nil
	}
	return s.orders[n]
}

func (s *Server) serveOrder(req *gqlRequest) (any, []gqlError) {
	o := s.orderByGID(req)
	if o == nil {
		return map[string]any{"order": nil}, nil
	}
	n := o.graphQL(s.firstArg(req.Query, "lineItems", 50))
	return map[string]any{"order": n}, s.shipToLocked(req, n, o, "order")
}

// shipToLocked sets the order node's shippingAddress if the query asks
// for it, as Options.ShipTo says: the address, null, or null and an
// ACCESS_DENIED error on the field's path (path: the node's). Call with
// mu held.
func (s *Server) shipToLocked(req *gqlRequest, node map[string]any, o *Order, path ...any) []gqlError {
	if !strings.Contains(req.Query, "shippingAddress") {
		return nil
	}
	switch s.opts.ShipTo {
	case ShipToDenied:
		node["shippingAddress"] = nil
		return []gqlError{{Message: "Access denied for shippingAddress field.", Path: append(path, "shippingAddress"),
			Extensions: map[string]any{"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/docs/apps/launch/protected-customer-data"}}}
	case ShipToRedacted:
		node["shippingAddress"] = nil
	default:
		node["shippingAddress"] = o.graphQLShipTo()
	}
	return nil
}

func (s *Server) serveOrderLines(req *gqlRequest) (any, []gqlError) {
	o := s.orderByGID(req)
	if o == nil {
		return map[string]any{"order": nil}, nil
	}
	nodes, pi := o.lineNodes(strVar(req, "after"), s.firstArg(req.Query, "lineItems", 100))
	return map[string]any{"order": map[string]any{"lineItems": map[string]any{"pageInfo": pi, "nodes": nodes}}}, nil
}

var skuTermRE = regexp.MustCompile(`sku:("(?:[^"\\]|\\.)*"|[^\s)]+)`)

func (s *Server) serveVariants(req *gqlRequest) (any, []gqlError) {
	want := map[string]bool{}
	for _, m := range skuTermRE.FindAllStringSubmatch(strVar(req, "query"), -1) {
		v := m[1]
		if strings.HasPrefix(v, `"`) {
			v = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(v[1 : len(v)-1])
		}
		want[v] = true
	}
	var list []*item
	for sku, it := range s.items {
		if want[sku] {
			list = append(list, it)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	first := s.firstArg(req.Query, "productVariants", 250)
	start := min(cursorOffset(strVar(req, "after")), len(list))
	end := min(start+first, len(list))
	nodes := []any{}
	for _, it := range list[start:end] {
		nodes = append(nodes, map[string]any{"sku": it.sku, "inventoryItem": map[string]any{"id": itemGID(it.id)}})
	}
	return map[string]any{"productVariants": map[string]any{"pageInfo": pageInfo(end, len(list)), "nodes": nodes}}, nil
}

func (s *Server) itemByGID(id string) *item {
	if !strings.HasPrefix(id, "gid://shopify/InventoryItem/") {
		return nil
	}
	return s.itemsByID[strings.TrimPrefix(id, "gid://shopify/InventoryItem/")]
}

func (s *Server) serveLevels(req *gqlRequest) (any, []gqlError) {
	var ids []string
	if err := json.Unmarshal(req.Variables["ids"], &ids); err != nil {
		return nil, []gqlError{{Message: "Variable $ids of type [ID!]! was provided invalid value"}}
	}
	if len(ids) > 250 {
		return nil, []gqlError{{Message: "The input array size of 251 is greater than the maximum allowed of 250."}}
	}
	loc := strVar(req, "location")
	nodes := make([]any, 0, len(ids))
	for _, id := range ids {
		it := s.itemByGID(id)
		if it == nil {
			nodes = append(nodes, nil)
			continue
		}
		var level any
		if q, ok := it.levels[loc]; ok {
			level = map[string]any{"quantities": []any{map[string]any{"name": "available", "quantity": q}}}
		}
		nodes = append(nodes, map[string]any{"id": itemGID(it.id), "inventoryLevel": level})
	}
	return map[string]any{"nodes": nodes}, nil
}

type userError struct {
	Code    string   `json:"code"`
	Field   []string `json:"field"`
	Message string   `json:"message"`
}

type setInput struct {
	Name                 string                       `json:"name"`
	Reason               string                       `json:"reason"`
	ReferenceDocumentURI string                       `json:"referenceDocumentUri"`
	Quantities           []map[string]json.RawMessage `json:"quantities"`
}

var validReasons = map[string]bool{
	"correction": true, "cycle_count_available": true, "damaged": true, "movement_created": true,
	"movement_updated": true, "movement_received": true, "movement_canceled": true, "other": true,
	"promotion": true, "quality_control": true, "received": true, "reservation_created": true,
	"reservation_deleted": true, "reservation_updated": true, "restock": true, "safety_stock": true, "shrinkage": true,
}

// serveSetQuantities is inventorySetQuantities: every quantity checked,
// then all applied, or none if any item has a user error.
func (s *Server) serveSetQuantities(req *gqlRequest) (any, []gqlError) {
	key := strVar(req, "key")
	if key == "" || !strings.Contains(req.Query, "@idempotent") {
		return nil, []gqlError{{Message: "The @idempotent directive is required for this mutation.", Extensions: map[string]any{"code": "BAD_REQUEST"}}}
	}
	raw := req.Variables["input"]
	inputHash := canonicalHash(raw)
	if prev, ok := s.idempotent[key]; ok {
		return s.replaySetQuantities(prev, inputHash), nil
	}
	in, gerrs := parseSetInput(raw)
	if gerrs != nil {
		return nil, gerrs
	}
	errs := in.userErrors()
	changes, qerrs, gerrs := s.checkQuantities(in.Quantities)
	if gerrs != nil {
		return nil, gerrs
	}
	errs = append(errs, qerrs...)
	var group any
	if len(errs) == 0 {
		group = s.applyQuantities(changes)
	}
	out := payload(group, errs)
	body, _ := json.Marshal(out)
	s.idempotent[key] = idempotentResult{input: inputHash, body: body, failed: len(errs) > 0}
	return out, nil
}

// replaySetQuantities answers a key already used: Shopify applies nothing
// and answers with the first request's result (shopify.dev, "Implementing
// idempotency"; InventorySetQuantitiesUserErrorCode for the two refusals
// below).
func (s *Server) replaySetQuantities(prev idempotentResult, inputHash string) any {
	s.replays++
	if prev.input != inputHash {
		return payload(nil, []userError{{Code: "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", Message: "The same idempotency key cannot be used with different operation parameters."}})
	}
	if prev.failed {
		return payload(nil, []userError{{Code: "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED", Message: "A previous request with this idempotency key failed. Retry with a new idempotency key."}})
	}
	var replay any
	_ = json.Unmarshal(prev.body, &replay)
	return replay
}

// parseSetInput reads $input, refusing (a GraphQL error, nothing run) one
// that is not an InventorySetQuantitiesInput or holds over 250 quantities.
func parseSetInput(raw json.RawMessage) (*setInput, []gqlError) {
	var in setInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, []gqlError{{Message: "Variable $input of type InventorySetQuantitiesInput! was provided invalid value"}}
	}
	if len(in.Quantities) > 250 {
		return nil, []gqlError{{Message: "The input array size of " + strconv.Itoa(len(in.Quantities)) + " is greater than the maximum allowed of 250."}}
	}
	return &in, nil
}

// userErrors are the input's own user errors: its name and its reason.
func (in *setInput) userErrors() []userError {
	var errs []userError
	if in.Name != "available" && in.Name != "on_hand" {
		errs = append(errs, userError{Code: "INVALID_NAME", Field: []string{"input", "name"}, Message: "The quantity name must be either 'available' or 'on_hand'."})
	}
	if !validReasons[in.Reason] {
		errs = append(errs, userError{Code: "INVALID_REASON", Field: []string{"input", "reason"}, Message: "The specified reason is invalid."})
	}
	return errs
}

// quantityChange is one checked quantity, to apply if all are good.
type quantityChange struct {
	it  *item
	loc string
	qty int64
}

// setQuantity is one entry of the input's quantities.
type setQuantity struct {
	itemID, loc string
	qty         int64
	// changeFrom is changeFromQuantity as sent: null skips the check.
	changeFrom json.RawMessage
}

// checkQuantities checks the input's quantities in order: the changes
// they make, their user errors, or the GraphQL error of the first entry
// that lacks a quantity or changeFromQuantity (nothing run, though the
// entries before it were checked). s.mu is held.
func (s *Server) checkQuantities(quantities []map[string]json.RawMessage) ([]quantityChange, []userError, []gqlError) {
	var changes []quantityChange
	var errs []userError
	for i, q := range quantities {
		sq, gerrs := readSetQuantity(i, q)
		if gerrs != nil {
			return nil, nil, gerrs
		}
		c, uerr := s.checkQuantity(i, sq)
		if uerr != nil {
			errs = append(errs, *uerr)
			continue
		}
		changes = append(changes, c)
	}
	return changes, errs, nil
}

// readSetQuantity reads the i-th quantity; a quantity that is not an Int,
// or a changeFromQuantity left out, is a GraphQL error.
func readSetQuantity(i int, q map[string]json.RawMessage) (setQuantity, []gqlError) {
	var sq setQuantity
	_ = json.Unmarshal(q["inventoryItemId"], &sq.itemID)
	_ = json.Unmarshal(q["locationId"], &sq.loc)
	if err := json.Unmarshal(q["quantity"], &sq.qty); err != nil {
		return sq, []gqlError{{Message: "quantities[" + strconv.Itoa(i) + "].quantity: Int! required"}}
	}
	cf, present := q["changeFromQuantity"]
	if !present {
		return sq, []gqlError{{Message: "quantities[" + strconv.Itoa(i) + "].changeFromQuantity must be given (null skips the check)"}}
	}
	sq.changeFrom = cf
	return sq, nil
}

// checkQuantity checks the i-th quantity against the store, in Shopify's
// order: the item, the location, an injected failure, the item stocked
// there, the quantity's range, then changeFromQuantity against the level.
// A sale MakeNextPushStale set up happens first. s.mu is held.
func (s *Server) checkQuantity(i int, sq setQuantity) (quantityChange, *userError) {
	field := func(f string) []string { return []string{"input", "quantities", strconv.Itoa(i), f} }
	refuse := func(code, f, msg string) (quantityChange, *userError) {
		return quantityChange{}, &userError{Code: code, Field: field(f), Message: msg}
	}
	it := s.itemByGID(sq.itemID)
	switch {
	case it == nil:
		return refuse("INVALID_INVENTORY_ITEM", "inventoryItemId", "The specified inventory item could not be found.")
	case !s.knownLocation(sq.loc):
		return refuse("INVALID_LOCATION", "locationId", "The specified location could not be found.")
	}
	if f, ok := s.failures[it.sku]; ok {
		return refuse(f.Code, "quantity", f.Message)
	}
	s.sellIfStale(it, sq.loc)
	cur, stocked := it.levels[sq.loc]
	switch {
	case !stocked:
		return refuse("ITEM_NOT_STOCKED_AT_LOCATION", "locationId", "The specified inventory item is not stocked at the location.")
	case sq.qty < 0:
		return refuse("INVALID_QUANTITY_NEGATIVE", "quantity", "The quantity can't be negative.")
	case sq.qty > 1_000_000_000:
		return refuse("INVALID_QUANTITY_TOO_HIGH", "quantity", "The quantity can't be higher than 1,000,000,000.")
	}
	if string(sq.changeFrom) != "null" {
		var cf int64
		if err := json.Unmarshal(sq.changeFrom, &cf); err != nil || cf != cur {
			return refuse("CHANGE_FROM_QUANTITY_STALE", "changeFromQuantity", "The changeFromQuantity value does not match persisted value.")
		}
	}
	return quantityChange{it: it, loc: sq.loc, qty: sq.qty}, nil
}

// sellIfStale sells one unit of it at loc if MakeNextPushStale asked, so
// the push's changeFromQuantity is stale. s.mu is held.
func (s *Server) sellIfStale(it *item, loc string) {
	if !s.staleNext[it.sku] {
		return
	}
	delete(s.staleNext, it.sku)
	if _, stocked := it.levels[loc]; stocked {
		it.levels[loc]--
	}
}

// applyQuantities applies checked changes and returns their adjustment
// group. s.mu is held.
func (s *Server) applyQuantities(changes []quantityChange) any {
	for _, c := range changes {
		c.it.levels[c.loc] = c.qty
	}
	s.nextID++
	return map[string]any{"id": "gid://shopify/InventoryAdjustmentGroup/" + strconv.FormatInt(s.nextID, 10)}
}

// canonicalHash hashes a JSON value whatever the order of its keys, so
// the same parameters sent again compare equal.
func canonicalHash(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err == nil {
		if b, err := json.Marshal(v); err == nil { // map keys sorted
			raw = b
		}
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

func payload(group any, errs []userError) map[string]any {
	if errs == nil {
		errs = []userError{}
	}
	return map[string]any{"inventorySetQuantities": map[string]any{"inventoryAdjustmentGroup": group, "userErrors": errs}}
}
