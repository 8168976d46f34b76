package woocommercetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Product is a product or a variation of the fake catalog.
type Product struct {
	ID int64
	// ParentID > 0 makes it a variation of that (variable) product.
	ParentID int64
	SKU      string
	// Type is simple (default), variable, grouped or external; a
	// variation's is variation.
	Type string
	// ManageStock is "Manage stock?". A variation that does not manage
	// its stock sells from its parent's when the parent does (answered
	// manage_stock "parent"); a product that does not keeps no quantity.
	ManageStock bool
	// Stock is stock_quantity (kept only while ManageStock).
	Stock int64
	// Backorders lets Sell take the stock below zero.
	Backorders bool
	Modified   time.Time
}

// ErrNoListing and ErrOutOfStock are Sell's refusals.
var (
	ErrNoListing  = errors.New("woocommercetest: no product or variation has this SKU")
	ErrOutOfStock = errors.New("woocommercetest: not enough stock")
)

// AddProduct adds a product (not a variation) and returns its id; a
// zero id is assigned.
func (s *Server) AddProduct(p Product) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.ParentID = 0
	if p.Type == "" || p.Type == "variation" {
		p.Type = "simple"
	}
	return s.addLocked(p)
}

// AddVariation adds a variation of the product parent (made variable)
// and returns its id.
func (s *Server) AddVariation(parent int64, v Product) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	par, ok := s.products[parent]
	if !ok || par.ParentID > 0 {
		return 0, fmt.Errorf("woocommercetest: no product %d to add a variation to", parent)
	}
	par.Type = "variable"
	v.ParentID = parent
	v.Type = "variation"
	return s.addLocked(v), nil
}

func (s *Server) addLocked(p Product) int64 {
	if p.ID == 0 {
		p.ID = s.newIDLocked()
	}
	if p.Modified.IsZero() {
		p.Modified = s.opts.Now()
	}
	p.Modified = wholeSeconds(p.Modified)
	s.products[p.ID] = &p
	return p.ID
}

// ProductBySKU returns a copy of the listing with that SKU (exactly).
func (s *Server) ProductBySKU(sku string) (Product, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.bySKULocked(sku); p != nil {
		return *p, true
	}
	return Product{}, false
}

// DeleteProduct removes a listing for good (its variations too): batch
// updates of its id answer woocommerce_rest_…_invalid_id from then on.
func (s *Server) DeleteProduct(sku string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.bySKULocked(sku)
	if p == nil {
		return ErrNoListing
	}
	for id, v := range s.products {
		if v.ParentID == p.ID {
			delete(s.products, id)
		}
	}
	delete(s.products, p.ID)
	return nil
}

// SetStock sets a listing's stock_quantity, as a merchant's edit would
// (it must manage stock).
func (s *Server) SetStock(sku string, qty int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.bySKULocked(sku)
	if p == nil {
		return ErrNoListing
	}
	if !p.ManageStock {
		return fmt.Errorf("woocommercetest: %s does not manage stock", sku)
	}
	p.Stock = qty
	p.Modified = wholeSeconds(s.opts.Now())
	return nil
}

// SetManageStock turns "Manage stock?" on or off for a listing.
func (s *Server) SetManageStock(sku string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.bySKULocked(sku)
	if p == nil {
		return ErrNoListing
	}
	p.ManageStock = on
	if !on {
		p.Stock = 0
	}
	return nil
}

// Listed is the quantity WooCommerce lists for a SKU, and whether it
// lists one at all (the listing exists and its stock is managed, by
// itself or by its parent).
func (s *Server) Listed(sku string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.bySKULocked(sku)
	if p == nil || !p.managesLocked(s) {
		return 0, false
	}
	return s.stockHolderLocked(p).Stock, true
}

// Sell is a checkout, atomic: it refuses (ErrOutOfStock) when the SKU's
// managed stock can not cover qty and backorders are off, else takes qty
// off the stock (if managed) and places a processing order of one line,
// whose id it returns.
func (s *Server) Sell(sku string, qty int64) (int64, error) {
	if qty <= 0 {
		return 0, fmt.Errorf("woocommercetest: sell %d units", qty)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.bySKULocked(sku)
	if p == nil {
		return 0, ErrNoListing
	}
	line := OrderLine{SKU: sku, Quantity: qty, ProductID: p.ID}
	if p.ParentID > 0 {
		line.ProductID, line.VariationID = p.ParentID, p.ID
	}
	if p.managesLocked(s) {
		h := s.stockHolderLocked(p)
		if h.Stock < qty && !p.Backorders {
			return 0, fmt.Errorf("%w: %s has %d, %d asked", ErrOutOfStock, sku, h.Stock, qty)
		}
		h.Stock -= qty
		line.ReducedStock = qty
	}
	// Checkout reduces the stock when the order is paid
	// (woocommerce_payment_complete) and marks the order reduced.
	o := Order{ID: s.newIDLocked(), Status: "processing", Modified: s.opts.Now(), Lines: []OrderLine{line}, StockReduced: true}
	s.normalizeOrderLocked(&o)
	o.Created = o.Modified
	s.orders[o.ID] = &o
	return o.ID, nil
}

// FailItem makes every batch update of sku fail with WooCommerce's error
// code, message and status until ClearFailures.
func (s *Server) FailItem(sku, code, message string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[sku] = itemFailure{code: code, message: message, status: status}
}

// ClearFailures removes every injected item failure.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = map[string]itemFailure{}
}

// bySKULocked finds a listing by its exact SKU.
func (s *Server) bySKULocked(sku string) *Product {
	var found *Product
	for _, p := range s.products {
		if sku != "" && p.SKU == sku && (found == nil || p.ID < found.ID) {
			found = p
		}
	}
	return found
}

// listingOfLocked is the listing an order line sold.
func (s *Server) listingOfLocked(l *OrderLine) *Product {
	if p, ok := s.products[l.VariationID]; ok && l.VariationID > 0 {
		return p
	}
	if p, ok := s.products[l.ProductID]; ok {
		return p
	}
	return nil
}

// managesLocked says whether the listing's stock is managed (by itself,
// or by its parent for a variation).
func (p *Product) managesLocked(s *Server) bool {
	if p.ManageStock {
		return true
	}
	if par, ok := s.products[p.ParentID]; ok && p.ParentID > 0 {
		return par.ManageStock
	}
	return false
}

// stockHolderLocked is the listing whose stock a listing sells from.
func (s *Server) stockHolderLocked(p *Product) *Product {
	if !p.ManageStock && p.ParentID > 0 {
		if par, ok := s.products[p.ParentID]; ok && par.ManageStock {
			return par
		}
	}
	return p
}

// productResource is a product as the products endpoint answers it (a
// variation found by SKU too: type variation, with its parent_id).
type productResource struct {
	ID              int64           `json:"id"`
	Name            string          `json:"name"`
	Type            string          `json:"type"`
	Status          string          `json:"status"`
	SKU             string          `json:"sku"`
	ParentID        int64           `json:"parent_id"`
	DateModified    string          `json:"date_modified"`
	DateModifiedGMT string          `json:"date_modified_gmt"`
	ManageStock     json.RawMessage `json:"manage_stock"`
	StockQuantity   *int64          `json:"stock_quantity"`
	StockStatus     string          `json:"stock_status"`
	Backorders      string          `json:"backorders"`
}

// variationResource is a variation as the variations endpoint answers it
// (no type, no parent_id: #product-variation-properties).
type variationResource struct {
	ID              int64           `json:"id"`
	SKU             string          `json:"sku"`
	Status          string          `json:"status"`
	DateModified    string          `json:"date_modified"`
	DateModifiedGMT string          `json:"date_modified_gmt"`
	ManageStock     json.RawMessage `json:"manage_stock"`
	StockQuantity   *int64          `json:"stock_quantity"`
	StockStatus     string          `json:"stock_status"`
	Backorders      string          `json:"backorders"`
}

// stockFieldsLocked are manage_stock, stock_quantity and stock_status as
// WooCommerce answers them (managing_stock(), get_stock_quantity()).
func (s *Server) stockFieldsLocked(p *Product) (manage json.RawMessage, qty *int64, status string) {
	status = "instock"
	switch {
	case p.ManageStock:
		manage = json.RawMessage("true")
	case p.managesLocked(s):
		manage = json.RawMessage(`"parent"`)
	default:
		return json.RawMessage("false"), nil, status
	}
	q := s.stockHolderLocked(p).Stock
	if q <= 0 {
		status = "outofstock"
		if p.Backorders {
			status = "onbackorder"
		}
	}
	return manage, &q, status
}

func (s *Server) productResourceLocked(p *Product) productResource {
	m, q, st := s.stockFieldsLocked(p)
	bo := "no"
	if p.Backorders {
		bo = "yes"
	}
	return productResource{ID: p.ID, Name: "Product " + p.SKU, Type: p.Type, Status: "publish", SKU: p.SKU, ParentID: p.ParentID,
		DateModified: s.local(p.Modified), DateModifiedGMT: gmt(p.Modified), ManageStock: m, StockQuantity: q, StockStatus: st, Backorders: bo}
}

func (s *Server) variationResourceLocked(p *Product) variationResource {
	m, q, st := s.stockFieldsLocked(p)
	bo := "no"
	if p.Backorders {
		bo = "yes"
	}
	return variationResource{ID: p.ID, SKU: p.SKU, Status: "publish", DateModified: s.local(p.Modified), DateModifiedGMT: gmt(p.Modified),
		ManageStock: m, StockQuantity: q, StockStatus: st, Backorders: bo}
}

// listProducts serves GET /products. With sku (comma-separated; the
// whole string counts as one SKU too) variations are searched as well,
// and SKUs match without case, as the database compares them.
func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) {
	page, perPage, ok := paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	skus := map[string]bool{}
	if v := q.Get("sku"); v != "" {
		parts := strings.Split(v, ",")
		if len(parts) > 1 {
			parts = append(parts, v)
		}
		for _, p := range parts {
			skus[strings.ToLower(p)] = true
		}
	}
	s.mu.Lock()
	var list []*Product
	for _, p := range s.products {
		if len(skus) > 0 {
			if p.SKU == "" || !skus[strings.ToLower(p.SKU)] {
				continue
			}
		} else if p.ParentID > 0 {
			continue
		}
		if t := q.Get("type"); t != "" && p.Type != t {
			continue
		}
		list = append(list, p)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID > list[j].ID })
	out := make([]productResource, 0, len(list))
	for _, p := range list {
		out = append(out, s.productResourceLocked(p))
	}
	s.mu.Unlock()
	s.runHook("GET /products", page)
	writePage(w, out, page, perPage)
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p, ok := s.products[pathID(r)]
	var res productResource
	if ok {
		res = s.productResourceLocked(p)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "woocommerce_rest_product_invalid_id", "Invalid ID.")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) listVariations(w http.ResponseWriter, r *http.Request) {
	page, perPage, ok := paging(w, r)
	if !ok {
		return
	}
	parent := pathID(r)
	sku := r.URL.Query().Get("sku")
	s.mu.Lock()
	par, found := s.products[parent]
	var list []*Product
	if found && par.ParentID == 0 {
		for _, p := range s.products {
			if p.ParentID == parent && (sku == "" || strings.EqualFold(p.SKU, sku)) {
				list = append(list, p)
			}
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID > list[j].ID })
	out := make([]variationResource, 0, len(list))
	for _, p := range list {
		out = append(out, s.variationResourceLocked(p))
	}
	s.mu.Unlock()
	if !found || par.ParentID != 0 {
		writeError(w, http.StatusNotFound, "woocommerce_rest_product_invalid_id", "Invalid ID.")
		return
	}
	writePage(w, out, page, perPage)
}

// batchRequest is a batch body; only updates are served.
type batchRequest struct {
	Create []json.RawMessage `json:"create"`
	Update []json.RawMessage `json:"update"`
	Delete []json.RawMessage `json:"delete"`
}

type batchUpdate struct {
	ID            json.Number  `json:"id"`
	StockQuantity *json.Number `json:"stock_quantity"`
}

type itemError struct {
	ID    int64   `json:"id"`
	Error wcError `json:"error"`
}

func (s *Server) batchProducts(w http.ResponseWriter, r *http.Request) {
	s.batch(w, r, 0)
}

func (s *Server) batchVariations(w http.ResponseWriter, r *http.Request) {
	parent := pathID(r)
	s.mu.Lock()
	par, ok := s.products[parent]
	ok = ok && par.ParentID == 0
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "woocommerce_rest_product_invalid_id", "Invalid ID.")
		return
	}
	s.batch(w, r, parent)
}

// batch serves POST /products/batch (parent 0) and
// POST /products/{parent}/variations/batch: the limit first (413 over
// it), then each update on its own, answered in order.
func (s *Server) batch(w http.ResponseWriter, r *http.Request, parent int64) {
	req, ok := s.readBatch(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	answers := make([]any, 0, len(req.Update))
	for _, raw := range req.Update {
		answers = append(answers, s.updateItemLocked(raw, parent))
	}
	s.mu.Unlock()
	out := map[string]any{"update": answers}
	if len(req.Create) > 0 || len(req.Delete) > 0 {
		var refused []itemError
		for range append(req.Create, req.Delete...) {
			refused = append(refused, itemError{Error: wcError{Code: "woocommercetest_not_served", Message: "the fake serves updates only", Data: map[string]int{"status": 400}}})
		}
		out["create"] = refused
	}
	writeJSON(w, http.StatusOK, out)
}

// readBatch reads a batch body and checks it against the batch limit,
// answering the request itself when ok is false: 400 for a body that is
// not JSON, 413 over the limit.
func (s *Server) readBatch(w http.ResponseWriter, r *http.Request) (req batchRequest, ok bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.")
		return req, false
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.")
		return req, false
	}
	if n := len(req.Create) + len(req.Update) + len(req.Delete); n > s.opts.BatchLimit {
		writeError(w, http.StatusRequestEntityTooLarge, "woocommerce_rest_request_entity_too_large",
			fmt.Sprintf("Unable to accept more than %d items for this request.", s.opts.BatchLimit))
		return req, false
	}
	return req, true
}

// updateItemLocked applies one update of a batch under parent (0:
// products) and returns its answer: the listing as it now is, or the
// item's error. s.mu must be held.
func (s *Server) updateItemLocked(raw json.RawMessage, parent int64) any {
	var u batchUpdate
	if err := json.Unmarshal(raw, &u); err != nil {
		return itemError{Error: wcError{Code: "rest_invalid_param", Message: "Invalid parameter(s): update", Data: map[string]int{"status": 400}}}
	}
	id, _ := strconv.ParseInt(u.ID.String(), 10, 64)
	p, ok := s.products[id]
	if !ok || (parent == 0 && p.ParentID > 0) || (parent > 0 && p.ParentID != parent) {
		invalid := "woocommerce_rest_product_invalid_id"
		if parent > 0 {
			invalid = "woocommerce_rest_product_variation_invalid_id"
		}
		return itemError{ID: id, Error: wcError{Code: invalid, Message: "Invalid ID.", Data: map[string]int{"status": 400}}}
	}
	if f, bad := s.failures[p.SKU]; bad {
		return itemError{ID: id, Error: wcError{Code: f.code, Message: f.message, Data: map[string]int{"status": f.status}}}
	}
	if u.StockQuantity != nil && p.ManageStock {
		// Stock is set only where the listing manages it; otherwise
		// WooCommerce stores no quantity and ignores the field.
		if q, err := strconv.ParseInt(u.StockQuantity.String(), 10, 64); err == nil {
			p.Stock = q
		}
	}
	p.Modified = wholeSeconds(s.opts.Now())
	if parent > 0 {
		return s.variationResourceLocked(p)
	}
	return s.productResourceLocked(p)
}
