package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/amazon"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
	"github.com/shelfsync/shelfsync/internal/proctest"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/shipments"
)

const daemonToken = "e2e-admin-token"

// daemonRun is the daemon binary serving a world (buildWorld) in its own
// process: the world's HTTP server proxies every request (webhooks) to it.
type daemonRun struct {
	t       *testing.T
	bin     string
	cfgPath string
	base    string // the daemon's http://host:port
	prefix  string // its key prefix
	p       *proctest.Proc
	// slow delays every call of the daemon to Shopify's and eBay's APIs
	// (ns), so that a kill can land while confirmations are in flight.
	slow atomic.Int64
	// hold, while set, keeps the answer to every confirmation call
	// (Shopify's fulfillmentCreate, eBay's shipping_fulfillment POST)
	// from the daemon until it is closed: the fake has applied the call,
	// the daemon has no answer yet. held counts the answers so kept.
	hold atomic.Pointer[chan struct{}]
	held atomic.Int64
}

// newDaemonWorld is a world whose daemon is `shelfsync run` in its own
// process, with the shipments claim at claim (a killed daemon's
// confirmations are due again after it).
func newDaemonWorld(t *testing.T, nSKUs int, claim time.Duration) (*world, *daemonRun) {
	t.Helper()
	d := &daemonRun{t: t, bin: buildBinary(t), cfgPath: filepath.Join(t.TempDir(), "shelfsync.yaml")}
	listen := proctest.FreeAddr(t)
	d.base = "http://" + listen
	w, cfg, _, mux := buildWorld(t, nSKUs, func(c *config.Config) {
		for i := range c.Channels {
			if ch := &c.Channels[i]; ch.Name == "shop" || ch.Name == "bay" {
				ch.APIURL = d.slowProxy(ch.APIURL)
			}
		}
		c.Redis.Addr = redistest.Addr()
		c.HTTP.Listen = listen
		c.HTTP.AdminToken = config.NewSecret(daemonToken)
		c.Shipments.Claim = claim
	})
	cfg.HTTP.PublicURL = w.daemon.URL
	d.prefix = cfg.Redis.KeyPrefix
	text, err := config.Marshal(cfg)
	if err == nil {
		err = os.WriteFile(d.cfgPath, text, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(d.base)
	mux.Handle("/", httputil.NewSingleHostReverseProxy(target))
	d.start()
	return w, d
}

// slowProxy is a proxy to base that waits d.slow before each request,
// and keeps a confirmation's answer while d.hold is set.
func (d *daemonRun) slowProxy(base string) string {
	target, _ := url.Parse(base)
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(d.slow.Load()))
		gate := d.hold.Load()
		if gate == nil || !isConfirmation(r) {
			rp.ServeHTTP(rw, r)
			return
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
		d.held.Add(1)
		select {
		case <-*gate:
		case <-r.Context().Done(): // the daemon is gone
			return
		}
		maps.Copy(rw.Header(), rec.Header())
		rw.WriteHeader(rec.Code)
		_, _ = rw.Write(rec.Body.Bytes())
	}))
	d.t.Cleanup(srv.Close)
	return srv.URL
}

// start starts the daemon and waits for /readyz (a hang guard).
func (d *daemonRun) start() {
	d.t.Helper()
	d.p = proctest.Start(d.t, d.bin, "run", "--config", d.cfgPath, "--log-level", "warn")
	proctest.WaitFor(d.t, "the daemon to be ready", func() bool {
		resp, err := http.Get(d.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, d.p)
}

// post posts a shipment to the daemon's admin API until it is answered
// 200 or 201 (the same key again after a lost answer, as a WMS does), and
// returns that status; a 4xx fails the test.
func (d *daemonRun) post(body []byte) int {
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodPost, d.base+"/api/v1/shipments", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+daemonToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue // the daemon is down: the same key again
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
			return resp.StatusCode
		case resp.StatusCode < 500:
			d.t.Errorf("shipment %s answered %d", body, resp.StatusCode)
			return resp.StatusCode
		}
	}
	d.t.Errorf("shipment %s: no answer within 2 minutes", body)
	return 0
}

// backlog says how many shipments each channel has stored but not
// applied, and waiting for confirmation (claimed ones included).
func (d *daemonRun) backlog(ctx context.Context, w *world) string {
	out := ""
	for _, ch := range []string{"shop", "bay", "amz"} {
		k := d.prefix + "{ship:" + ch + "}"
		out += fmt.Sprintf("%s unapplied %d unconfirmed %d; ", ch, w.rdb.ZCard(ctx, k+":apply").Val(), w.rdb.ZCard(ctx, k+":queue").Val())
	}
	return out
}

// isConfirmation is a shipment confirmation call of the daemon to
// Shopify (the fulfillmentCreate mutation) or eBay (a shipping
// fulfillment POST); the body is put back for the proxy.
func isConfirmation(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	if strings.HasSuffix(r.URL.Path, "/shipping_fulfillment") {
		return true
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	return err == nil && bytes.Contains(body, []byte(`"operationName":"ShelfsyncFulfillmentCreate"`))
}

// killMidConfirmation kills the daemon (SIGKILL) while a confirmation
// call is in flight: the answers to confirmation calls are kept from the
// daemon from now until after the kill, and the kill waits (as the
// process-watching waits do) for one the fake has already applied. It
// returns how many were in flight; it fails the test if none came.
func (d *daemonRun) killMidConfirmation() int64 {
	d.t.Helper()
	gate := make(chan struct{})
	d.held.Store(0)
	d.hold.Store(&gate)
	defer func() {
		d.hold.Store(nil)
		close(gate)
	}()
	proctest.WaitFor(d.t, "a confirmation call in flight", func() bool { return d.held.Load() > 0 }, d.p)
	d.p.Kill9()
	return d.held.Load()
}

// shipPart is one shipment of the kill test's plan.
type shipPart struct {
	channel, order, line, key, tracking, sku string
	qty                                      int64
	at                                       time.Time
	stream                                   bool // by the inbound stream, else by the API
}

// killPlan places n orders of 2 units on each of Shopify, eBay and
// Amazon (channel c's orders take SKU-00c, SKU-00(c+3), ... in turn, at
// most 10 orders a SKU) and plans their shipments: every third order in
// two parts, the second part sent first; by API and by stream in turn.
func killPlan(t *testing.T, w *world, n int) []shipPart {
	t.Helper()
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	var plan []shipPart
	for i := range n {
		for c, ch := range []string{"shop", "bay", "amz"} {
			sku := fmt.Sprintf("SKU-%03d", c+3*(i/10))
			order, line := placeKillOrder(w, ch, i, sku, t0)
			parts := []int64{2}
			if i%3 == 2 {
				parts = []int64{1, 1}
			}
			var these []shipPart
			for k, q := range parts {
				these = append(these, shipPart{channel: ch, order: order, line: line, sku: sku, qty: q,
					key: fmt.Sprintf("wms-%s-%d-%d", ch, i, k), tracking: fmt.Sprintf("1Z999AA1%010d", len(plan)+len(these)+1),
					at: t0.Add(time.Minute), stream: (i+c+k)%2 == 1})
			}
			slices.Reverse(these)
			plan = append(plan, these...)
		}
	}
	return plan
}

// placeKillOrder places order i of 2 × sku on channel ch and announces
// it; it returns the order and line ids.
func placeKillOrder(w *world, ch string, i int, sku string, t0 time.Time) (string, string) {
	switch ch {
	case "shop":
		line := int64(7000 + i)
		id := w.shop.AddOrder(shopifytest.Order{Name: fmt.Sprintf("#7%03d", i), UpdatedAt: t0, FinancialStatus: "PAID",
			Lines: []shopifytest.OrderLine{{ID: line, SKU: sku, Quantity: 2}}})
		w.shop.Sell(sku, 2)
		w.shopWebhook("orders/create", id, "kill-create-"+strconv.Itoa(i))
		return strconv.FormatInt(id, 10), strconv.FormatInt(line, 10)
	case "bay":
		id := fmt.Sprintf("EK-%d", i)
		w.bay.AddOrder(ebaytest.Order{OrderID: id, LegacyOrderID: id, OrderFulfillmentStatus: "NOT_STARTED", OrderPaymentStatus: "PAID",
			CancelState: "NONE_REQUESTED", LineItems: []ebaytest.LineItem{{LineItemID: "L1", SKU: sku, Quantity: 2}}})
		w.ebayNotification(id, 1)
		return id, "L1"
	default:
		id := fmt.Sprintf("AK-%d", i)
		w.amz.AddOrder(amazontest.Order{AmazonOrderID: id, Status: "Unshipped", LastUpdate: t0,
			Items: []amazontest.Item{{OrderItemID: "I1", SellerSKU: sku, Ordered: 2}}})
		w.amz.SendMessage(amazonOrderChange(id, "Unshipped", 1))
		return id, "I1"
	}
}

// TestShipmentsKill9MidLoad: orders on Shopify, eBay and Amazon are
// shipped by the warehouse through the admin API and the inbound stream,
// every shipment twice (the second pass shuffled), split orders' parts in
// reverse order, while the daemon (`shelfsync run`, its own process) is
// killed with SIGKILL and restarted mid-load; API posts that got no answer
// are sent again with the same key, as a WMS does. Every channel must end
// with each shipment confirmed exactly once with its tracking (one
// Shopify fulfillment, one eBay shipping fulfillment, one Amazon package
// each), every shipment confirmed and applied, no stream entry dead-lettered,
// the ledger's on hand the seeded stock minus the units shipped with no
// reservation left, and the ledger verified. SHIP_KILL9=long: 30 orders a
// channel and three kills.
func TestShipmentsKill9MidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	// The claim bounds one confirmation attempt, paced by the channel's
	// limiter (3 s was too short under load for Shopify's queue).
	orders, kills, bound, claim := 4, 1, time.Minute, 10*time.Second
	if os.Getenv("SHIP_KILL9") == "long" {
		orders, kills, bound, claim = 30, 3, 5*time.Minute, 30*time.Second
	}
	w, d := newDaemonWorld(t, 3*((orders+9)/10), claim)
	ctx := context.Background()
	plan := killPlan(t, w, orders)
	w.eventually("every order is reserved", w.reservedAll(plan))

	all := append(slices.Clone(plan), shuffled(plan, 15)...)
	var sent atomic.Int64
	d.slow.Store(int64(300 * time.Millisecond))
	done := make(chan struct{})
	go func() {
		defer close(done)
		stream := w.eng.Inbound().Consumer().Stream()
		for _, s := range all {
			b := shipBody(s)
			if s.stream {
				if err := w.rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{shipments.StreamField: string(b)}}).Err(); err != nil {
					t.Error(err)
				}
			} else {
				d.post(b)
			}
			sent.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for k := range kills {
		// Within the first pass: the second is repeats, which queue nothing.
		at := int64(len(plan) * (k + 1) / (kills + 1))
		proctest.WaitFor(t, fmt.Sprintf("%d shipments sent", at), func() bool { return sent.Load() >= at }, d.p)
		inFlight := d.killMidConfirmation()
		t.Logf("kill -9 after %d of %d shipments sent, %d confirmation calls in flight: %s", sent.Load(), len(all), inFlight, d.backlog(ctx, w))
		d.start()
	}
	d.slow.Store(0)
	<-done
	w.eventuallyWithin(bound, "every shipment is confirmed exactly once on its channel", func() (bool, string) { return confirmedOnce(w, plan) })
	w.eventually("every shipment is confirmed and applied", func() (bool, string) { return statesDone(w, plan) })
	w.eventually("on hand is the seeded stock minus the units shipped", w.shippedAll(plan))
	if n, err := w.rdb.XLen(ctx, w.eng.Inbound().Consumer().Stream()+":dead").Result(); err != nil || n != 0 {
		t.Errorf("%d stream entries dead-lettered (%v)", n, err)
	}
	if probs, err := w.eng.Ledger().Verify(ctx, nil); err != nil || len(probs) > 0 {
		t.Fatalf("verify: %v %v", probs, err)
	}
	if code := d.p.Stop(t, time.Minute); code != 0 {
		t.Errorf("daemon exit %d after SIGTERM:\n%s", code, d.p.Stderr())
	}
}

// shuffled is a copy of plan in a random (seeded) order.
func shuffled(plan []shipPart, seed uint64) []shipPart {
	out := slices.Clone(plan)
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func shipBody(s shipPart) []byte {
	b, _ := json.Marshal(shipments.Request{Channel: s.channel, OrderID: s.order,
		Lines: []shipments.RequestLine{{LineID: s.line, Quantity: s.qty}}, Carrier: "ups", TrackingNumber: s.tracking,
		ShippedAt: s.at, IdempotencyKey: s.key})
	return b
}

// reservedAll: every SKU of the plan has its orders' units reserved at main.
func (w *world) reservedAll(plan []shipPart) func() (bool, string) {
	want := map[string]int64{}
	for _, s := range plan {
		want[s.sku] += s.qty
	}
	return func() (bool, string) {
		for sku, n := range want {
			if ok, detail := w.figures(sku, 20, n)(); !ok {
				return false, detail
			}
		}
		return true, ""
	}
}

// shippedAll: every SKU of the plan has 20 less its shipped units on hand
// and nothing reserved.
func (w *world) shippedAll(plan []shipPart) func() (bool, string) {
	want := map[string]int64{}
	for _, s := range plan {
		want[s.sku] += s.qty
	}
	return func() (bool, string) {
		for sku, n := range want {
			if ok, detail := w.figures(sku, 20-n, 0)(); !ok {
				return false, detail
			}
		}
		return true, ""
	}
}

// confirmedOnce: each shipment of the plan is on its channel's fake once,
// under its tracking number with its units, and nothing else is.
func confirmedOnce(w *world, plan []shipPart) (bool, string) {
	got := map[string][]string{} // channel/order → tracking numbers the channel holds
	for _, f := range w.shop.CreatedFulfillments() {
		if f.Fulfillment.Tracking != nil {
			k := "shop/" + strconv.FormatInt(f.OrderID, 10)
			got[k] = append(got[k], f.Fulfillment.Tracking.Number)
		}
	}
	want := map[string][]string{}
	for _, s := range plan {
		k := s.channel + "/" + s.order
		want[k] = append(want[k], s.tracking)
		switch s.channel {
		case "bay":
			if len(got[k]) == 0 {
				for _, f := range w.bay.Fulfillments(s.order) {
					got[k] = append(got[k], f.TrackingNumber)
				}
			}
		case "amz":
			if pk, ok := w.amz.Packages(s.order)[amazonRef(s.key)]; !ok || pk.TrackingNumber != s.tracking || pk.Items[s.line] != s.qty {
				return false, fmt.Sprintf("amz %s: package of %s %+v (present %v), want %d × %s under %s", s.order, s.key, pk, ok, s.qty, s.line, s.tracking)
			}
		}
	}
	for k, tr := range want {
		if k[:3] == "amz" {
			if n := len(w.amz.Packages(k[4:])); n != len(tr) {
				return false, fmt.Sprintf("%s: %d packages, want %d", k, n, len(tr))
			}
			continue
		}
		g := slices.Sorted(slices.Values(got[k]))
		if !slices.Equal(g, slices.Sorted(slices.Values(tr))) {
			return false, fmt.Sprintf("%s: tracking on the channel %v, want each of %v once", k, g, tr)
		}
	}
	return true, ""
}

// amazonRef is the packageReferenceId of the shipment of key on amz.
func amazonRef(key string) string {
	return amazon.PackageReferenceID(shipments.ID("amz", key))
}

// statesDone: every shipment of the plan is stored once, confirmed and on
// the ledger.
func statesDone(w *world, plan []shipPart) (bool, string) {
	ctx := context.Background()
	seen := map[string]bool{}
	for _, s := range plan {
		k := s.channel + "/" + s.order
		if seen[k] {
			continue
		}
		seen[k] = true
		views, err := w.eng.Shipments().ForOrder(ctx, s.channel, s.order)
		if err != nil {
			return false, err.Error()
		}
		var keys []string
		for _, v := range views {
			if v.State.Status != shipments.StatusConfirmed || !v.Applied {
				return false, fmt.Sprintf("%s shipment %s: %+v applied %v", k, v.Key, v.State, v.Applied)
			}
			keys = append(keys, v.Key)
		}
		var want []string
		for _, p := range plan {
			if p.channel == s.channel && p.order == s.order {
				want = append(want, p.key)
			}
		}
		if !slices.Equal(slices.Sorted(slices.Values(keys)), slices.Sorted(slices.Values(want))) {
			return false, fmt.Sprintf("%s: shipments %v, want %v", k, keys, want)
		}
	}
	return true, ""
}
