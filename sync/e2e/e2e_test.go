package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	_ "github.com/shelfsync/shelfsync/connectors/all"
	"github.com/shelfsync/shelfsync/connectors/amazon"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
	"github.com/shelfsync/shelfsync/connectors/ebay"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
	"github.com/shelfsync/shelfsync/connectors/shopify"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/report"
	"github.com/shelfsync/shelfsync/sync/engine"
	"github.com/shelfsync/shelfsync/sync/webhook"
)

const (
	shopSecret = "shop-webhook-secret"
	ebayToken  = "ebay-verification-token"
	amzSecret  = "amazon-relay-secret"
)

type world struct {
	t      testing.TB
	rdb    *redis.Client
	shop   *shopifytest.Server
	bay    *ebaytest.Server
	amz    *amazontest.Server
	eng    *engine.Engine
	daemon *httptest.Server
	reg    *prometheus.Registry
	skus   []string
}

func newWorld(t testing.TB, nSKUs int) *world {
	t.Helper()
	return newWorldWith(t, nSKUs, nil)
}

// newWorldWith is newWorld with edit applied to the daemon's config
// before it starts (nil: none).
func newWorldWith(t testing.TB, nSKUs int, edit func(*config.Config)) *world {
	t.Helper()
	w, _, conns, mux := buildWorld(t, nSKUs, edit)
	mountWebhooks(t, mux, conns, w.eng, w.reg)
	w.run(conns)
	return w
}

// buildWorld starts the fakes and the daemon's HTTP server (its mux empty),
// builds the engine (not run) and its connectors on the config (edit
// applied), and seeds the catalogue: 20 of each SKU at main, listed at 0.
func buildWorld(t testing.TB, nSKUs int, edit func(*config.Config)) (*world, *config.Config, map[string]connectors.Connector, *http.ServeMux) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	w := &world{t: t, rdb: rdb}
	w.shop = shopifytest.New(shopifytest.Options{WebhookSecret: shopSecret})
	w.bay = ebaytest.New(ebaytest.Options{})
	w.amz = amazontest.New(amazontest.Options{
		// The published getOrder plan (0.5/s) would make the test wait;
		// the connector adapts to what the fake announces.
		RateLimits: map[string]float64{"getOrder": 50, "getOrderItems": 50, "getOrders": 50, "patchListingsItem": 50, "getListingsItem": 50},
	})
	t.Cleanup(func() { w.shop.Close(); w.bay.Close(); w.amz.Close() })

	mux := http.NewServeMux()
	w.daemon = httptest.NewServer(mux)
	t.Cleanup(w.daemon.Close)

	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Sync.CoalesceWindow = 30 * time.Millisecond
	cfg.Sync.ClaimIdle = time.Second
	cfg.Locations = []config.Location{{ID: "main", Priority: 1}, {ID: "backup", Priority: 2}}
	locs := []string{"main", "backup"}
	shopCh := config.Channel{Name: "shop", Kind: shopify.Kind, APIURL: w.shop.URL(), Locations: locs,
		Credentials: config.Credentials{AccessToken: config.NewSecret(w.shop.Options().AccessToken)},
		Webhook:     config.Webhook{Secrets: []config.Secret{config.NewSecret(shopSecret)}},
		Settings: &shopify.Settings{Shop: w.shop.Options().Shop,
			LocationIDs: map[string]string{"main": w.shop.Options().LocationID, "backup": w.shop.Options().LocationID}}}
	bayCh := config.Channel{Name: "bay", Kind: ebay.Kind, APIURL: w.bay.URL(), Locations: locs,
		Credentials: config.Credentials{ClientID: config.NewSecret(ebaytest.DefaultClientID),
			ClientSecret: config.NewSecret(ebaytest.DefaultClientSecret), RefreshToken: config.NewSecret(ebaytest.DefaultRefreshToken)},
		Webhook:  config.Webhook{VerificationToken: config.NewSecret(ebayToken), EndpointURL: w.daemon.URL + "/webhooks/bay"},
		Settings: &ebay.Settings{}}
	amzCh := config.Channel{Name: "amz", Kind: amazon.Kind, APIURL: w.amz.URL, Locations: locs,
		Credentials: config.Credentials{ClientID: config.NewSecret(amazontest.DefaultClientID),
			ClientSecret: config.NewSecret(amazontest.DefaultClientSecret), RefreshToken: config.NewSecret(amazontest.DefaultRefreshToken),
			AWSAccessKeyID: config.NewSecret(amazontest.DefaultAWSKeyID), AWSSecretAccessKey: config.NewSecret(amazontest.DefaultAWSSecret)},
		Webhook: config.Webhook{Secrets: []config.Secret{config.NewSecret(amzSecret)}, Header: "X-Relay-Secret"},
		Settings: &amazon.Settings{SellerID: amazontest.DefaultSellerID, MarketplaceIDs: []string{amazontest.DefaultMarketplace},
			AuthURL: w.amz.TokenURL(), SQS: amazon.SQS{QueueURL: w.amz.QueueURL(), Region: amazontest.DefaultAWSRegion,
				Endpoint: w.amz.URL, WaitTime: time.Second}}}
	cfg.Channels = []config.Channel{shopCh, bayCh, amzCh}
	for i := range cfg.Channels {
		cfg.Channels[i].Allocation.Percent = nil
	}
	if edit != nil {
		edit(cfg)
	}
	cfg = reparse(t, cfg)

	reg := prometheus.NewRegistry()
	w.reg = reg
	conns := map[string]connectors.Connector{}
	for _, ch := range cfg.Channels {
		deps := connectors.TestDeps(ch)
		deps.PublicURL = w.daemon.URL
		c, err := connectors.New(deps)
		if err != nil {
			t.Fatalf("building %s: %v", ch.Name, err)
		}
		conns[ch.Name] = c
	}
	eng, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Connectors: conns, Registry: reg, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	w.eng = eng

	// The catalogue: stock in the ledger, listings on every channel.
	ctx := context.Background()
	for i := 0; i < nSKUs; i++ {
		sku := fmt.Sprintf("SKU-%03d", i)
		w.skus = append(w.skus, sku)
		if _, err := eng.Ledger().Receive(ctx, inventory.Delta{Key: "init-" + sku, SKU: sku, Location: "main", Quantity: 20, Reason: "initial"}); err != nil {
			t.Fatal(err)
		}
		w.shop.SetLevel(sku, 0)
		w.bay.AddListing(sku, 0, 1)
		w.amz.SetListing(sku, 0)
	}
	return w, cfg, conns, mux
}

// run runs the engine and the connectors' runners in this process until
// the test ends.
func (w *world) run(conns map[string]connectors.Connector) {
	t, eng := w.t, w.eng
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	runners := 0
	for name, c := range conns {
		if r, ok := c.(connectors.Runner); ok {
			runners++
			go func() {
				if err := r.Run(runCtx, eng.Sink()); err != nil {
					t.Errorf("runner of %s: %v", name, err)
				}
				done <- nil
			}()
		}
	}
	if runners != 1 {
		t.Fatalf("%d runners, want Amazon's queue reader", runners)
	}
	t.Cleanup(func() {
		cancel()
		for i := 0; i <= runners; i++ {
			if err := <-done; err != nil {
				t.Errorf("engine: %v", err)
			}
		}
	})
}

// reparse runs cfg through the real loader's defaults and validation, so
// the test drives the daemon with a config the daemon would accept.
func reparse(t testing.TB, cfg *config.Config) *config.Config {
	t.Helper()
	for i := range cfg.Channels {
		ch := &cfg.Channels[i]
		if ch.Timeout == 0 {
			ch.Timeout = 10 * time.Second
		}
		if ch.MaxRetries == 0 {
			ch.MaxRetries = 3
		}
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (w *world) eventually(what string, cond func() (bool, string)) {
	w.t.Helper()
	w.eventuallyWithin(time.Minute, what, cond)
}

// eventuallyWithin is eventually with another hang guard than a minute.
func (w *world) eventuallyWithin(bound time.Duration, what string, cond func() (bool, string)) {
	w.t.Helper()
	deadline := time.Now().Add(bound)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting until %s: %s", what, detail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// converged: every channel lists the engine's ATS for every SKU.
func (w *world) converged() (bool, string) {
	ctx := context.Background()
	for _, sku := range w.skus {
		_, ats, err := w.eng.ATS(ctx, sku)
		if err != nil {
			return false, err.Error()
		}
		got := map[string]int64{"shop": w.shop.Level(sku)}
		got["bay"], _ = w.bay.Quantity(sku)
		got["amz"], _ = w.amz.Quantity(sku)
		for ch, q := range got {
			if q != ats[ch] {
				return false, fmt.Sprintf("%s lists %s=%d, ledger ATS %d", ch, sku, q, ats[ch])
			}
		}
	}
	return true, ""
}

func (w *world) post(path string, body []byte, header http.Header) int {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.daemon.URL+path, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (w *world) shopWebhook(topic string, id int64, eventID string) {
	w.t.Helper()
	body, err := w.shop.WebhookBody(id)
	if err != nil {
		w.t.Fatal(err)
	}
	code, err := w.shop.Deliver(context.Background(), http.DefaultClient, w.daemon.URL+"/webhooks/shop", topic, body, eventID)
	if err != nil || code != http.StatusOK {
		w.t.Fatalf("shopify %s delivery: %d %v", topic, code, err)
	}
}

func (w *world) ebayNotification(orderID string, n int) {
	w.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"topic": "ORDER_CONFIRMATION", "schemaVersion": "1.0", "deprecated": false},
		"notification": map[string]any{"notificationId": fmt.Sprintf("n-%s-%d", orderID, n), "eventDate": time.Now().UTC().Format(time.RFC3339),
			"publishDate": time.Now().UTC().Format(time.RFC3339), "publishAttemptCount": 1,
			"data": map[string]any{"order": map[string]any{"orderId": orderID}}},
	})
	h := http.Header{"X-Ebay-Signature": {w.bay.SignedNotification(body)}, "Content-Type": {"application/json"}}
	if code := w.post("/webhooks/bay", body, h); code != http.StatusOK {
		w.t.Fatalf("ebay notification answered %d", code)
	}
}

func amazonOrderChange(orderID, status string, n int) string {
	b, _ := json.Marshal(map[string]any{
		"NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
		"EventTime": time.Now().UTC().Format(time.RFC3339Nano),
		"Payload": map[string]any{"OrderChangeNotification": map[string]any{
			"NotificationLevel": "OrderLevel", "SellerId": amazontest.DefaultSellerID, "AmazonOrderId": orderID,
			"OrderChangeType": "OrderStatusChange", "Summary": map[string]any{"OrderStatus": status}}},
		"NotificationMetadata": map[string]any{"NotificationId": fmt.Sprintf("amz-%s-%d", orderID, n),
			"PublishTime": time.Now().UTC().Format(time.RFC3339Nano)},
	})
	return string(b)
}

// TestEndToEnd drives orders on every channel, with duplicate, late and
// reordered deliveries, cancels and a refund, and checks that every channel
// converges to the ledger, the ledger verifies, and every order reached the
// downstream stream once per version.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 6)
	ctx := context.Background()
	w.eventually("the initial stock is listed everywhere", w.converged)

	// Shopify: an order of 3 × SKU-000 and 1 × SKU-001, delivered twice.
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	sid := w.shop.AddOrder(shopifytest.Order{Name: "#1001", UpdatedAt: t0, FinancialStatus: "PAID",
		Lines: []shopifytest.OrderLine{{ID: 11, SKU: "SKU-000", Quantity: 3}, {ID: 12, SKU: "SKU-001", Quantity: 1}}})
	w.shop.Sell("SKU-000", 3)
	w.shop.Sell("SKU-001", 1)
	w.shopWebhook("orders/create", sid, "e1")
	w.shopWebhook("orders/create", sid, "e1") // duplicate delivery

	// eBay: 2 × SKU-002; the notification arrives twice (eBay retries).
	w.bay.AddOrder(ebaytest.Order{OrderID: "E-1", LegacyOrderID: "E-1", OrderFulfillmentStatus: "NOT_STARTED", OrderPaymentStatus: "PAID",
		CancelState: "NONE_REQUESTED", LineItems: []ebaytest.LineItem{{LineItemID: "L1", SKU: "SKU-002", Quantity: 2}}})
	w.ebayNotification("E-1", 1)
	w.ebayNotification("E-1", 1)

	// Amazon: 4 × SKU-003 via the SQS queue.
	w.amz.AddOrder(amazontest.Order{AmazonOrderID: "A-1", Status: "Unshipped", LastUpdate: t0,
		Items: []amazontest.Item{{OrderItemID: "I1", SellerSKU: "SKU-003", Ordered: 4}}})
	w.amz.SendMessage(amazonOrderChange("A-1", "Unshipped", 1))

	want := map[string]int64{"SKU-000": 17, "SKU-001": 19, "SKU-002": 18, "SKU-003": 16}
	w.eventually("the sales are applied", func() (bool, string) {
		for sku, q := range want {
			st, err := w.eng.Ledger().Stock(ctx, sku)
			if err != nil {
				return false, err.Error()
			}
			if a := st.Locations["main"].Available; a != q {
				return false, fmt.Sprintf("%s available %d, want %d", sku, a, q)
			}
		}
		return true, ""
	})
	w.eventually("every channel lists the sales", w.converged)

	// Shopify: the order is cancelled; then a late redelivery of the
	// original create (older updated_at) arrives after the cancel.
	o, _ := w.shop.Order(sid)
	cancelled := t0.Add(10 * time.Second)
	o.CancelledAt, o.UpdatedAt = &cancelled, cancelled
	w.shop.AddOrder(o)
	w.shopWebhook("orders/cancelled", sid, "e2")
	w.eventually("the cancel is applied", func() (bool, string) {
		st, _ := w.eng.Ledger().Stock(ctx, "SKU-000")
		return st.Locations["main"].Available == 20, fmt.Sprint(st.Locations["main"])
	})
	o.CancelledAt, o.UpdatedAt = nil, t0
	w.shop.AddOrder(o) // the store "as it was" renders the old body
	w.shopWebhook("orders/create", sid, "e3")
	o.CancelledAt, o.UpdatedAt = &cancelled, cancelled
	w.shop.AddOrder(o)

	// Amazon: the order is cancelled (released).
	w.amz.AddOrder(amazontest.Order{AmazonOrderID: "A-1", Status: "Canceled", LastUpdate: t0.Add(20 * time.Second),
		Items: []amazontest.Item{{OrderItemID: "I1", SellerSKU: "SKU-003", Ordered: 4}}})
	w.amz.SendMessage(amazonOrderChange("A-1", "Canceled", 2))

	// eBay: ships; the shipped units leave on_hand.
	w.bay.AddOrder(ebaytest.Order{OrderID: "E-1", LegacyOrderID: "E-1", OrderFulfillmentStatus: "FULFILLED", OrderPaymentStatus: "PAID",
		CancelState: "NONE_REQUESTED", LastModifiedDate: time.Now(),
		LineItems: []ebaytest.LineItem{{LineItemID: "L1", SKU: "SKU-002", Quantity: 2, LineItemFulfillmentStatus: "FULFILLED"}}})
	w.ebayNotification("E-1", 2)

	final := map[string]inventory.Level{
		"SKU-000": {OnHand: 20, Reserved: 0, Available: 20},
		"SKU-001": {OnHand: 20, Reserved: 0, Available: 20},
		"SKU-002": {OnHand: 18, Reserved: 0, Available: 18},
		"SKU-003": {OnHand: 20, Reserved: 0, Available: 20},
	}
	w.eventually("every event is taken in and handled", func() (bool, string) {
		n, err := w.eng.Intake().Backlog(ctx)
		total, _ := w.amz.QueueDepth()
		return err == nil && n == 0 && total == 0, fmt.Sprintf("intake backlog %d, SQS %d (%v)", n, total, err)
	})
	w.eventually("the final states are applied", func() (bool, string) {
		for sku, lv := range final {
			st, err := w.eng.Ledger().Stock(ctx, sku)
			if err != nil {
				return false, err.Error()
			}
			if st.Locations["main"] != lv {
				return false, fmt.Sprintf("%s %+v, want %+v", sku, st.Locations["main"], lv)
			}
		}
		return true, ""
	})
	w.eventually("every channel converged", w.converged)

	if bad, err := w.eng.Ledger().Verify(ctx, nil); err != nil || len(bad) != 0 {
		t.Fatalf("verify: %v %v", bad, err)
	}
	// Downstream: each order version at most once, every order present.
	msgs, err := w.rdb.XRange(ctx, w.eng.Publisher().Stream(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	orders := map[string]bool{}
	for _, m := range msgs {
		seen[m.Values["delivery_id"].(string)]++
		orders[m.Values["channel"].(string)+"/"+m.Values["order_id"].(string)] = true
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s published %d times", id, n)
		}
	}
	for _, o := range []string{"shop/" + strconv.FormatInt(sid, 10), "bay/E-1", "amz/A-1"} {
		if !orders[o] {
			t.Errorf("order %s never published downstream (have %v)", o, orders)
		}
	}
	checkSalesReport(t, w)
}

// checkSalesReport: the sales report over the last hour, from the
// ledger's journal, against the orders TestEndToEnd placed: shop's 3 + 1
// units cancelled, bay's 2 shipped, amz's 4 cancelled; the initial stock
// and the repeats are no sales.
func checkSalesReport(t *testing.T, w *world) {
	t.Helper()
	now := time.Now()
	s, err := report.SalesReport(context.Background(), w.eng.Ledger(), now.Add(-time.Hour), now, report.ByChannel)
	if err != nil {
		t.Fatal(err)
	}
	want := []report.SalesRow{
		{Key: "amz", Orders: 1, Units: 4, CancelledOrders: 1, CancelledUnits: 4},
		{Key: "bay", Orders: 1, Units: 2, NetUnits: 2},
		{Key: "shop", Orders: 1, Units: 4, CancelledOrders: 1, CancelledUnits: 4},
	}
	total := report.SalesRow{Key: "total", Orders: 3, Units: 10, CancelledOrders: 2, CancelledUnits: 8, NetUnits: 2}
	if !reflect.DeepEqual(s.Rows, want) || s.Total != total {
		t.Errorf("sales report\n got %+v total %+v\nwant %+v total %+v", s.Rows, s.Total, want, total)
	}
}

// mountWebhooks serves each connector that verifies webhooks at
// /webhooks/<name>, feeding the engine's sink, as the daemon does.
func mountWebhooks(t testing.TB, mux *http.ServeMux, conns map[string]connectors.Connector, eng *engine.Engine, reg prometheus.Registerer) {
	t.Helper()
	m, err := webhook.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range conns {
		v, ok := c.(connectors.WebhookVerifier)
		if !ok {
			continue
		}
		ch, _ := c.(connectors.WebhookChallenger)
		h, err := webhook.New(webhook.Options{Channel: name, Verifier: v, Challenger: ch, Sink: eng.Sink(),
			BodyLimit: 1 << 20, Logger: zerolog.Nop(), Metrics: m})
		if err != nil {
			t.Fatal(err)
		}
		mux.Handle("/webhooks/"+name, h)
	}
}
