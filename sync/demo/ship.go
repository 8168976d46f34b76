package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/shelfsync/shelfsync/connectors/sim"
)

// ShipOptions are the warehouse's side of the demo: a share of the orders
// is shipped a while after the sale, through the daemon's admin API
// (POST /api/v1/shipments, as a WMS does), so the daemon confirms them on
// the fakes.
type ShipOptions struct {
	// Share is the share of shippable orders shipped (0: none). Shippable:
	// an order of a plain SKU (not a mapped listing or kit) on one of
	// Channels, neither cancelled nor refunded, whose notification was
	// not dropped (the warehouse ships what shelfsync passed on).
	Share float64
	// After is the time from the order's notification to its shipment.
	After time.Duration
	// AdminToken is the admin API's bearer token.
	AdminToken string
	// Channels are the channels whose connector confirms shipments.
	Channels []string
}

// shipTries bounds the posts of one shipment: an order the daemon has not
// applied yet is 404, tried again every shipRetry (for 30 s: an intake
// backlog under load).
const (
	shipTries = 60
	shipRetry = 500 * time.Millisecond
)

// shipsOn says whether p's order is to be shipped (one draw of the
// generator's random numbers when it could be).
func (g *Generator) shipsOn(p *plan, listing bool) bool {
	o := g.o.Ship
	if o.Share <= 0 || p.kind != "" || p.dropFirst || p.first.n == nil || listing || p.order.per() != 1 ||
		!slices.Contains(o.Channels, p.channel) {
		return false
	}
	return g.rng.Float64() < o.Share
}

// shipLater ships p's order (all its units, by SKU, UPS) After its
// notification, unless ctx ends first (the order stream stopped: the
// warehouse did not ship it in time either).
func (g *Generator) shipLater(ctx context.Context, p *plan) {
	t := time.NewTimer(g.o.Ship.After)
	select {
	case <-ctx.Done():
		t.Stop()
		return
	case <-t.C:
	}
	body, _ := json.Marshal(map[string]any{
		"channel": p.channel, "order_id": p.order.OrderID,
		"lines":   []map[string]any{{"sku": p.order.SKU, "quantity": p.order.Units}},
		"carrier": "ups", "tracking_number": p.order.Tracking, "shipped_at": time.Now().UTC().Format(time.RFC3339),
		"idempotency_key": "demo-" + p.channel + "-" + p.order.OrderID,
	})
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deliveryTimeout)
	defer cancel()
	code, err := g.postShipment(dctx, body)
	g.count(p.channel, func(c *ChannelCounts) {
		if code == http.StatusCreated || code == http.StatusOK {
			c.Shipped++
			p.order.Shipped = p.order.Units
			return
		}
		c.ShipFailed++
	})
	if code != http.StatusCreated && code != http.StatusOK {
		g.o.Logger.Warn().Err(err).Int("status", code).Str("channel", p.channel).Str("order", p.order.OrderID).Msg("demo: posting a shipment")
	}
}

// postShipment posts body until the daemon answers otherwise than 404
// (the order not applied yet) or a failed call, at most shipTries times:
// 201 stored, 200 a repeat of a post whose answer was lost, else refused.
func (g *Generator) postShipment(ctx context.Context, body []byte) (int, error) {
	var code int
	var err error
	for range shipTries {
		if code, err = g.postOnce(ctx, body); err == nil && code != http.StatusNotFound {
			return code, nil
		}
		t := time.NewTimer(shipRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return code, ctx.Err()
		case <-t.C:
		}
	}
	return code, err
}

// postOnce posts body once: the status, or the failure of the call.
func (g *Generator) postOnce(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.o.Target+"/api/v1/shipments", bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("demo shipment: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.o.Ship.AdminToken)
	resp, err := g.o.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("demo shipment: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// ShipCheck compares the shipments the daemon stored with the fakes:
// each must end confirmed on its channel's fake exactly once, under its
// tracking number.
type ShipCheck struct {
	// Channels are the channels shipped on (their connector confirms).
	Channels []string `json:"channels"`
	// Share and AfterSeconds are the options the orders were shipped with.
	Share        float64 `json:"share"`
	AfterSeconds float64 `json:"after_seconds"`
	// Shipped: shipments the daemon stored. Confirmed: of them, held by
	// the fake exactly once under their tracking number; Missing: not
	// there (yet); Doubled: there more than once; Wrong: there under
	// another tracking number. Failed: shipments the daemon refused or
	// that could not be posted.
	Shipped   int            `json:"shipped"`
	Confirmed int            `json:"confirmed_on_fakes"`
	Missing   int            `json:"missing"`
	Doubled   int            `json:"doubled"`
	Wrong     int            `json:"wrong"`
	Failed    int64          `json:"failed"`
	OnFake    map[string]int `json:"confirmed_on_fake_by_channel"`
	Checks    int            `json:"checks"`
}

// OK is true when every stored shipment is confirmed on its fake exactly
// once and none failed.
func (c ShipCheck) OK() bool { return c.Confirmed == c.Shipped && c.Failed == 0 }

// CheckShipments looks up every shipped order on its fake.
func CheckShipments(f *Fakes, o ShipOptions, placed []PlacedOrder, counts map[string]ChannelCounts) ShipCheck {
	c := ShipCheck{Channels: o.Channels, Share: o.Share, AfterSeconds: o.After.Seconds(), OnFake: map[string]int{}}
	for _, cc := range counts {
		c.Failed += cc.ShipFailed
	}
	for _, p := range placed {
		if p.Shipped == 0 {
			continue
		}
		c.Shipped++
		sh, ok := f.Channel(p.Channel).(sim.Shipper)
		if !ok {
			c.Missing++
			continue
		}
		got := sh.Confirmations(p.OrderID)
		switch {
		case len(got) == 0:
			c.Missing++
		case len(got) > 1:
			c.Doubled++
		case got[0] != p.Tracking:
			c.Wrong++
		default:
			c.Confirmed++
			c.OnFake[p.Channel]++
		}
	}
	return c
}

// WaitShipments checks until every shipment is confirmed on its fake or
// bound has passed (or ctx ends), and returns the last check.
func WaitShipments(ctx context.Context, f *Fakes, o ShipOptions, placed []PlacedOrder, counts map[string]ChannelCounts, bound time.Duration) ShipCheck {
	deadline := time.Now().Add(bound)
	for checks := 1; ; checks++ {
		c := CheckShipments(f, o, placed, counts)
		c.Checks = checks
		if c.Missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return c
		}
		t := time.NewTimer(500 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// ShipBound is how long the demo waits for n shipments to be confirmed
// after the orders stop: 30 s, plus n at Amazon's published
// confirmShipment pace (the connector sends 1.8 a second), as if all were
// Amazon's.
func ShipBound(n int) time.Duration {
	return 30*time.Second + time.Duration(n)*time.Second*10/18
}
