package demo

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors/sim"
)

// TestGeneratorShipsThroughTheAdminAPI: with a ship share of 1 every
// plain order on a confirming channel that is neither cancelled nor
// refunded is posted to POST /api/v1/shipments with the admin token, all
// its units by SKU, UPS and a UPS-shaped tracking number; a 404 (the order
// not applied yet) is posted again; orders of other channels, of mapped
// listings and kits, and cancelled ones are never shipped.
func TestGeneratorShipsThroughTheAdminAPI(t *testing.T) {
	f := StartFakes(0, AmazonPublished)
	defer f.Close()
	cat := NewCatalog(30, 3)
	for _, it := range cat.Items {
		for _, ch := range ChannelNames() {
			f.list(ch, it.SKU, it.Warehouse+it.Store)
		}
	}
	type post struct {
		Channel string `json:"channel"`
		OrderID string `json:"order_id"`
		Lines   []struct {
			SKU      string `json:"sku"`
			Quantity int64  `json:"quantity"`
		} `json:"lines"`
		Carrier  string `json:"carrier"`
		Tracking string `json:"tracking_number"`
		Key      string `json:"idempotency_key"`
	}
	var mu sync.Mutex
	posts := map[string][]post{} // by key
	daemon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/shipments" {
			return // a notification
		}
		var p post
		if r.Header.Get("Authorization") != "Bearer tok" || json.NewDecoder(r.Body).Decode(&p) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		posts[p.Key] = append(posts[p.Key], p)
		if len(posts[p.Key]) == 1 {
			w.WriteHeader(http.StatusNotFound) // not applied yet: posted again
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer daemon.Close()
	confirming := []string{Shopify, Ebay, Amazon}
	g := NewGenerator(f, cat, GeneratorOptions{Rate: 200, Target: daemon.URL, Seed: 5, Logger: zerolog.Nop(),
		Ship: ShipOptions{Share: 1, After: 10 * time.Millisecond, AdminToken: "tok", Channels: confirming}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Run(ctx)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for slices.ContainsFunc(confirming, func(ch string) bool { return g.Counts()[ch].Shipped < 5 }) {
		if time.Now().After(deadline) {
			t.Fatalf("too few shipments: %+v", g.Counts())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done

	ups := regexp.MustCompile(`^1Z[0-9A-Z]{16}$`)
	mu.Lock()
	defer mu.Unlock()
	shipped := map[string]int64{}
	for _, p := range g.Placed() {
		got := posts["demo-"+p.Channel+"-"+p.OrderID]
		if p.Shipped == 0 {
			if len(got) > 1 {
				t.Errorf("order %+v: stored (%d posts) but not counted shipped", p, len(got))
			}
			continue
		}
		shipped[p.Channel]++
		switch {
		case !slices.Contains(confirming, p.Channel):
			t.Errorf("order %+v shipped on a channel that does not confirm", p)
		case p.Open != p.Units || p.per() != 1 || slices.Contains(cat.Listings(p.Channel), p.SKU):
			t.Errorf("order %+v shipped: cancelled, refunded, a mapped listing or a kit", p)
		case len(got) != 2:
			t.Errorf("order %+v: %d posts, want a 404 and the post again", p, len(got))
		case got[1].Channel != p.Channel || got[1].OrderID != p.OrderID || len(got[1].Lines) != 1 ||
			got[1].Lines[0].SKU != p.SKU || got[1].Lines[0].Quantity != p.Units || got[1].Carrier != "ups" ||
			got[1].Tracking != p.Tracking || !ups.MatchString(p.Tracking):
			t.Errorf("order %+v posted as %+v", p, got[1])
		}
	}
	for _, ch := range ChannelNames() {
		if c := g.Counts()[ch]; c.Shipped != shipped[ch] || c.ShipFailed != 0 {
			t.Errorf("%s: counts %+v, %d orders shipped", ch, c, shipped[ch])
		}
	}
}

// shipper is a simulated channel whose fake holds the given
// confirmations (tracking numbers by order).
type shipper struct {
	sim.Channel
	held map[string][]string
}

func (s shipper) Confirmations(order string) []string { return s.held[order] }

// TestCheckShipments: a shipment is confirmed only when its fake holds it
// exactly once under its tracking number; missing, doubled, wrong and
// failed ones keep the check from passing.
func TestCheckShipments(t *testing.T) {
	f := &Fakes{channels: map[string]sim.Channel{
		"a": shipper{held: map[string][]string{"1": {"T1"}, "3": {"T3", "T3"}, "4": {"X"}, "6": {"T6"}}},
		"b": struct{ sim.Channel }{}, // no confirmations to read
	}}
	placed := []PlacedOrder{
		{Channel: "a", OrderID: "1", Units: 1, Shipped: 1, Tracking: "T1"},
		{Channel: "a", OrderID: "2", Units: 1, Shipped: 1, Tracking: "T2"},
		{Channel: "a", OrderID: "3", Units: 1, Shipped: 1, Tracking: "T3"},
		{Channel: "a", OrderID: "4", Units: 1, Shipped: 1, Tracking: "T4"},
		{Channel: "a", OrderID: "5", Units: 1, Tracking: "T5"}, // not stored: not checked
		{Channel: "b", OrderID: "6", Units: 1, Shipped: 1, Tracking: "T6"},
	}
	o := ShipOptions{Share: 0.3, After: 2 * time.Second, Channels: []string{"a", "b"}}
	c := CheckShipments(f, o, placed, map[string]ChannelCounts{"a": {ShipFailed: 1}})
	if c.Shipped != 5 || c.Confirmed != 1 || c.Missing != 2 || c.Doubled != 1 || c.Wrong != 1 || c.Failed != 1 ||
		c.OnFake["a"] != 1 || c.OK() {
		t.Fatalf("check %+v: want 5 shipped, 1 confirmed, 2 missing, 1 doubled, 1 wrong, 1 failed, not OK", c)
	}
	c = CheckShipments(f, o, placed[:1], nil)
	if !c.OK() || c.Confirmed != 1 {
		t.Fatalf("check %+v: want the one shipment confirmed", c)
	}
	if c = CheckShipments(f, o, placed[:1], map[string]ChannelCounts{"a": {ShipFailed: 1}}); c.OK() {
		t.Fatalf("check %+v: a failed shipment passed", c)
	}
}
