package woocommercetest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type client struct {
	t *testing.T
	s *Server
}

func newServer(t *testing.T, opts Options) (*Server, client) {
	t.Helper()
	s := New(opts)
	t.Cleanup(s.Close)
	return s, client{t: t, s: s}
}

// do calls the fake with its key and secret (auth false: none) and
// returns the status, headers and body.
func (c client) do(method, path string, q url.Values, body any, auth bool) (int, http.Header, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	u := c.s.URL() + c.s.Options().APIPath + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(c.s.Options().ConsumerKey, c.s.Options().ConsumerSecret)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func (c client) get(path string, q url.Values, out any) http.Header {
	c.t.Helper()
	status, h, b := c.do("GET", path, q, nil, true)
	if status != 200 {
		c.t.Fatalf("GET %s?%s: %d %s", path, q.Encode(), status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	return h
}

func TestAuth(t *testing.T) {
	_, c := newServer(t, Options{})
	status, _, body := c.do("GET", "/orders", nil, nil, false)
	if status != 401 || !strings.Contains(string(body), "woocommerce_rest_cannot_view") {
		t.Fatalf("no auth: %d %s", status, body)
	}
	u := c.s.URL() + c.s.Options().APIPath + "/orders"
	req, _ := http.NewRequest("GET", u, nil)
	req.SetBasicAuth(c.s.Options().ConsumerKey, "cs_wrong")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("wrong secret: %d", res.StatusCode)
	}
	if status, _, _ := c.do("GET", "/orders", nil, nil, true); status != 200 {
		t.Fatalf("good key: %d", status)
	}
	if status, _, body := c.do("GET", "/nothing", nil, nil, true); status != 404 || !strings.Contains(string(body), "rest_no_route") {
		t.Fatalf("unknown route: %d %s", status, body)
	}
}

func TestOrdersListing(t *testing.T) {
	base := time.Date(2026, 4, 2, 8, 0, 0, 0, time.UTC)
	now := base
	s, c := newServer(t, Options{Now: func() time.Time { return now }, SiteOffset: 3 * time.Hour})
	var ids []int64
	for i := 0; i < 5; i++ {
		now = base.Add(time.Duration(i) * time.Minute).Add(400 * time.Millisecond)
		ids = append(ids, s.AddOrder(Order{Lines: []OrderLine{{SKU: "A", Quantity: 1}}}))
	}
	if err := s.Trash(ids[4]); err != nil {
		t.Fatal(err)
	}
	s.AddOrder(Order{Status: "checkout-draft", Modified: base.Add(time.Hour)})
	var list []orderResource
	h := c.get("/orders", url.Values{"per_page": {"2"}, "orderby": {"id"}, "order": {"asc"}}, &list)
	if h.Get("X-WP-Total") != "5" || h.Get("X-WP-TotalPages") != "3" || len(list) != 2 || list[0].ID != ids[0] {
		t.Fatalf("any: total %s pages %s list %v", h.Get("X-WP-Total"), h.Get("X-WP-TotalPages"), list)
	}
	c.get("/orders", url.Values{"status": {"trash"}}, &list)
	if len(list) != 1 || list[0].ID != ids[4] || list[0].Status != "trash" {
		t.Fatalf("trash: %v", list)
	}
	if list[0].DateModifiedGMT[len(list[0].DateModifiedGMT)-2:] != "00" {
		t.Fatalf("times are not whole seconds: %s", list[0].DateModifiedGMT)
	}
	// modified_after is exclusive, in GMT with dates_are_gmt.
	c.get("/orders", url.Values{"modified_after": {"2026-04-02T08:01:00"}, "dates_are_gmt": {"true"}, "per_page": {"100"}}, &list)
	if len(list) != 3 { // ids[2], ids[3], the draft
		t.Fatalf("modified_after 08:01:00 GMT: %d orders", len(list))
	}
	// Without dates_are_gmt the date is site time (3 h ahead).
	c.get("/orders", url.Values{"modified_after": {"2026-04-02T11:01:00"}, "per_page": {"100"}}, &list)
	if len(list) != 3 {
		t.Fatalf("modified_after 11:01:00 site time: %d orders", len(list))
	}
	// A zone is turned into site time first (WP_Date_Query), so with
	// dates_are_gmt a "Z" date shifts the window by the site's offset.
	c.get("/orders", url.Values{"modified_after": {"2026-04-02T05:01:00Z"}, "dates_are_gmt": {"true"}, "per_page": {"100"}}, &list)
	if len(list) != 3 {
		t.Fatalf("modified_after 05:01:00Z with dates_are_gmt: %d orders", len(list))
	}
	for _, q := range []url.Values{{"per_page": {"101"}}, {"page": {"0"}}, {"status": {"shipped"}}, {"modified_after": {"yesterday"}}} {
		if status, _, _ := c.do("GET", "/orders", q, nil, true); status != 400 {
			t.Errorf("%v: %d, want 400", q, status)
		}
	}
	if status, _, body := c.do("GET", "/orders/999999", nil, nil, true); status != 404 || !strings.Contains(string(body), "woocommerce_rest_shop_order_invalid_id") {
		t.Fatalf("missing order: %d %s", status, body)
	}
}

func TestRefundsAndRestock(t *testing.T) {
	s, c := newServer(t, Options{})
	s.AddProduct(Product{SKU: "A", ManageStock: true, Stock: 10})
	id, err := s.Sell("A", 3)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := s.Order(id)
	if _, err := s.Refund(id, true, map[int64]int64{o.Lines[0].ID: 2}); err != nil {
		t.Fatal(err)
	}
	if q, _ := s.Listed("A"); q != 9 {
		t.Fatalf("stock after a sale of 3 and a restock of 2: %d", q)
	}
	var refunds []struct {
		LineItems []struct {
			Quantity int64 `json:"quantity"`
			MetaData []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"meta_data"`
		} `json:"line_items"`
	}
	c.get("/orders/"+itoa(id)+"/refunds", nil, &refunds)
	if len(refunds) != 1 || refunds[0].LineItems[0].Quantity != -2 || refunds[0].LineItems[0].MetaData[0].Key != "_refunded_item_id" ||
		refunds[0].LineItems[0].MetaData[0].Value != itoa(o.Lines[0].ID) {
		t.Fatalf("refunds %+v", refunds)
	}
	var order orderResource
	c.get("/orders/"+itoa(id), nil, &order)
	found := false
	for _, m := range order.LineItems[0].MetaData {
		if m.Key == "_restock_refunded_items" && m.Value == "2" {
			found = true
		}
	}
	if !found || len(order.Refunds) != 1 {
		t.Fatalf("order %+v", order)
	}
}

func TestProductsAndBatches(t *testing.T) {
	s, c := newServer(t, Options{BatchLimit: 3})
	simple := s.AddProduct(Product{SKU: "Simple", ManageStock: true, Stock: 1})
	unmanaged := s.AddProduct(Product{SKU: "Loose"})
	parent := s.AddProduct(Product{SKU: "Shirt", ManageStock: true, Stock: 9})
	own, _ := s.AddVariation(parent, Product{SKU: "Shirt-S", ManageStock: true, Stock: 2})
	shared, _ := s.AddVariation(parent, Product{SKU: "Shirt-M"})
	var list []productResource
	c.get("/products", url.Values{"sku": {"simple,SHIRT-S,nope"}}, &list)
	if len(list) != 2 {
		t.Fatalf("sku search (without case, variations too): %v", list)
	}
	for _, p := range list {
		if p.ID == own && (p.Type != "variation" || p.ParentID != parent) {
			t.Fatalf("variation %+v", p)
		}
	}
	c.get("/products", nil, &list)
	if len(list) != 3 {
		t.Fatalf("without sku, products only: %d", len(list))
	}
	var vars []map[string]any
	c.get("/products/"+itoa(parent)+"/variations", nil, &vars)
	if len(vars) != 2 || vars[0]["type"] != nil || vars[0]["parent_id"] != nil {
		t.Fatalf("variations %v", vars)
	}
	// Over the limit: 413.
	four := map[string]any{"update": []map[string]any{{"id": simple}, {"id": simple}, {"id": simple}, {"id": simple}}}
	if status, _, body := c.do("POST", "/products/batch", nil, four, true); status != 413 || !strings.Contains(string(body), "woocommerce_rest_request_entity_too_large") {
		t.Fatalf("over the limit: %d %s", status, body)
	}
	s.FailItem("Simple", "x_error", "injected", 500)
	status, _, body := c.do("POST", "/products/batch", nil, map[string]any{"update": []map[string]any{
		{"id": simple, "stock_quantity": 5}, {"id": unmanaged, "stock_quantity": 5}, {"id": 424242, "stock_quantity": 5}}}, true)
	if status != 200 {
		t.Fatalf("batch: %d %s", status, body)
	}
	var ans struct {
		Update []json.RawMessage `json:"update"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || len(ans.Update) != 3 {
		t.Fatalf("answer %s", body)
	}
	if !strings.Contains(string(ans.Update[0]), "x_error") || !strings.Contains(string(ans.Update[2]), "woocommerce_rest_product_invalid_id") {
		t.Fatalf("item errors: %s", body)
	}
	if !strings.Contains(string(ans.Update[1]), `"manage_stock":false`) || !strings.Contains(string(ans.Update[1]), `"stock_quantity":null`) {
		t.Fatalf("unmanaged: %s", ans.Update[1])
	}
	if _, ok := s.Listed("Loose"); ok {
		t.Fatal("stock_quantity of an unmanaged product was kept")
	}
	s.ClearFailures()
	status, _, body = c.do("POST", "/products/"+itoa(parent)+"/variations/batch", nil, map[string]any{"update": []map[string]any{
		{"id": own, "stock_quantity": 7}, {"id": shared, "stock_quantity": 7}, {"id": simple, "stock_quantity": 7}}}, true)
	if status != 200 || !strings.Contains(string(body), `"manage_stock":"parent"`) || !strings.Contains(string(body), "woocommerce_rest_product_variation_invalid_id") {
		t.Fatalf("variations batch: %d %s", status, body)
	}
	if q, _ := s.Listed("Shirt-S"); q != 7 {
		t.Fatalf("own stock %d", q)
	}
	if q, _ := s.Listed("Shirt-M"); q != 9 {
		t.Fatalf("a variation sold from its parent's stock: %d (the parent's 9 must stay)", q)
	}
	if status, _, _ := c.do("POST", "/products/999/variations/batch", nil, map[string]any{"update": []any{}}, true); status != 404 {
		t.Fatalf("variations of a missing product: %d", status)
	}
}

// TestSellIsAtomic: concurrent checkouts never sell more than the stock.
func TestSellIsAtomic(t *testing.T) {
	s, _ := newServer(t, Options{})
	s.AddProduct(Product{SKU: "A", ManageStock: true, Stock: 10})
	var wg sync.WaitGroup
	var mu sync.Mutex
	sold, refused := 0, 0
	for i := 0; i < 25; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Sell("A", 1)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				sold++
			case errors.Is(err, ErrOutOfStock):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if q, _ := s.Listed("A"); sold != 10 || refused != 15 || q != 0 {
		t.Fatalf("sold %d refused %d left %d", sold, refused, q)
	}
	if _, err := s.Sell("missing", 1); !errors.Is(err, ErrNoListing) {
		t.Fatal(err)
	}
}

func TestWebhooks(t *testing.T) {
	now := time.Date(2026, 4, 2, 8, 0, 0, 100, time.UTC)
	s, _ := newServer(t, Options{Now: func() time.Time { return now }, WebhookSecret: "sekret", WebhookID: 142})
	body := []byte(`{"id":1}`)
	m := hmac.New(sha256.New, []byte("sekret"))
	m.Write(body)
	if Sign("sekret", body) != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		t.Fatal("Sign")
	}
	r1, err := s.NewWebhook(context.Background(), "http://x/hook", "order.deleted", body)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(500 * time.Millisecond)
	r2, _ := s.NewWebhook(context.Background(), "http://x/hook", "order.updated", body)
	h := r1.Header
	if h.Get("X-WC-Webhook-Topic") != "order.deleted" || h.Get("X-WC-Webhook-Resource") != "order" || h.Get("X-WC-Webhook-Event") != "deleted" ||
		h.Get("X-WC-Webhook-ID") != "142" || h.Get("X-WC-Webhook-Signature") != Sign("sekret", body) {
		t.Fatalf("headers %v", h)
	}
	if h.Get("X-WC-Webhook-Delivery-ID") != r2.Header.Get("X-WC-Webhook-Delivery-ID") {
		t.Fatal("two deliveries in one second should share their delivery id, as WooCommerce's do")
	}
	p, _ := s.NewPing(context.Background(), "http://x/hook")
	pb, _ := io.ReadAll(p.Body)
	if string(pb) != "webhook_id=142" || p.Header.Get("X-WC-Webhook-Topic") != "" || p.Header.Get("X-WC-Webhook-Signature") != "" {
		t.Fatalf("ping %q %v", pb, p.Header)
	}
}

func TestHostRateLimit(t *testing.T) {
	_, c := newServer(t, Options{RateLimit: 1, Burst: 2})
	codes := []int{}
	for i := 0; i < 3; i++ {
		status, h, _ := c.do("GET", "/orders", nil, nil, true)
		codes = append(codes, status)
		if status == 429 && h.Get("Retry-After") != "1" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Fatalf("codes %v", codes)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
