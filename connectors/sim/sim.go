// Package sim is the registry of simulated channels behind `shelfsync
// demo`: a connector's fake (its *test package) implements Channel and
// registers itself from init(), as the connector registers its kind, and
// the demo (sync/demo) iterates the registry instead of naming
// marketplaces. The connector links its fake: a file sim.go in its folder
// (build tag !nosim) blank-imports the fake, so linking the connector
// (connectors/all) links its simulated channel, and a production build
// (-tags nosim) links none.
//
// It imports config only: the fakes may not import sync, and a kind's
// settings are built from its YAML block (Settings), so a fake never
// imports its connector (which imports the fake: that would be a cycle).
package sim

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/shelfsync/shelfsync/config"
)

// Options start a simulated channel.
type Options struct {
	// Latency delays every answer of the fake.
	Latency time.Duration
	// Plan is the usage plan a fake that has plans enforces ("" is its
	// default; Amazon: published or raised).
	Plan string
}

// Env is what a channel's configuration needs of the demo.
type Env struct {
	// Name is the channel's name (the registered name).
	Name string
	// Listen is the daemon's host:port (webhook endpoint URLs).
	Listen string
	// Locations are the demo's stock locations, by priority.
	Locations []string
}

// Notification is one marketplace notification, ready to (re)deliver:
// delivering it twice is what a marketplace's retry does.
type Notification interface {
	// Deliver hands the notification to the daemon at base
	// (http://host:port) as the marketplace would: a signed POST to
	// base/webhooks/{channel} (returning its status), or a message on the
	// fake's own queue (returning 0).
	Deliver(ctx context.Context, client *http.Client, base string) (int, error)
}

// Placement is one order to place: the SKU and units, and the
// generator's ids (deterministic under the demo's seed).
type Placement struct {
	SKU string
	Qty int64
	Run string // distinguishes this run's order ids
	Seq int64  // the order's sequence number in the run
	// EventID is a fresh delivery id; call it only inside PlaceOrder.
	EventID func() string
}

// Follow-up kinds.
const (
	Cancel = "cancel"
	Refund = "refund"
)

// Order is an order placed on a fake.
type Order struct {
	// ID is the order's id as the ledger keys it (the order check).
	ID string
	// First is the order's notification (nil: none).
	First Notification
	// FollowUp applies a cancel or refund to the fake when due and
	// returns its notification (nil: the marketplace sends none, a poll
	// finds it); false when it could not be applied.
	FollowUp func(kind string) (Notification, bool)
}

// Channel is a running simulated channel: a fake marketplace and the
// demo's part of it.
type Channel interface {
	// URL is the fake's base URL.
	URL() string
	// Config is the daemon's channel for the fake (kind, API URL,
	// credentials, webhook, Settings); the demo sets the schedules and
	// locations.
	Config(env Env) (config.Channel, error)
	// List creates or sets sku's listing; Listed reads it.
	List(sku string, qty int64)
	Listed(sku string) (int64, bool)
	// PlaceOrder places an order of p.Qty units of p.SKU (the fake takes
	// them off the listing, as the marketplace does).
	PlaceOrder(p Placement) (Order, error)
	// Refunds: the channel's orders are refunded (restocked) too, not
	// only cancelled.
	Refunds() bool
	// Droppable: its notifications may be lost (webhooks); a queue loses
	// nothing.
	Droppable() bool
	Close()
}

// Shipper is a Channel whose fake takes shipment confirmations:
// Confirmations is how many the fake holds for the order (Shopify
// fulfillments, eBay shipping fulfillments, Amazon packages) and the
// tracking number of each.
type Shipper interface {
	Confirmations(orderID string) []string
}

// Drainer is a Channel that may need time to push every SKU once the
// orders stop (a rate-limited plan).
type Drainer interface {
	Drain(skus int) time.Duration
}

// Registration is one simulated channel.
type Registration struct {
	// Name is the channel's name, and its kind's.
	Name string
	// Rank orders the channels in the demo's output (lower first).
	Rank int
	// Start starts the fake.
	Start func(Options) Channel
}

var registry struct {
	sync.RWMutex
	m map[string]Registration
}

// Register adds a simulated channel; called from the fake's init().
func Register(r Registration) {
	registry.Lock()
	defer registry.Unlock()
	if registry.m == nil {
		registry.m = map[string]Registration{}
	}
	if _, dup := registry.m[r.Name]; dup || r.Start == nil {
		panic(fmt.Sprintf("sim: channel %q registered twice or without Start", r.Name))
	}
	registry.m[r.Name] = r
}

// Channels lists the registered channels by rank (then name).
func Channels() []string {
	registry.RLock()
	defer registry.RUnlock()
	rs := make([]Registration, 0, len(registry.m))
	for _, r := range registry.m {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Rank != rs[j].Rank {
			return rs[i].Rank < rs[j].Rank
		}
		return rs[i].Name < rs[j].Name
	})
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

// Start starts the channel registered as name.
func Start(name string, o Options) (Channel, error) {
	registry.RLock()
	r, ok := registry.m[name]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("sim: no simulated channel %q", name)
	}
	return r.Start(o), nil
}

// Settings is kind's settings value (config.NewSettings) decoded from
// block, as config.Load decodes a channel's `kind:` mapping: a fake
// builds its connector's settings without importing the connector.
func Settings(kind string, block map[string]any) (config.KindSettings, error) {
	s := config.NewSettings(kind)
	if s == nil {
		return nil, fmt.Errorf("sim: kind %q is not registered (link connectors/all)", kind)
	}
	b, err := yaml.Marshal(block)
	if err != nil {
		return nil, fmt.Errorf("sim: %s settings: %w", kind, err)
	}
	if err := yaml.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("sim: %s settings: %w", kind, err)
	}
	return s, nil
}

// Post delivers body to base/webhooks/{channel} with headers set by sign:
// the signed-webhook delivery most channels share.
func Post(ctx context.Context, client *http.Client, url string, body []byte, sign func(http.Header)) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	sign(req.Header)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Func is a Notification of a function.
type Func func(ctx context.Context, client *http.Client, base string) (int, error)

// Deliver calls f.
func (f Func) Deliver(ctx context.Context, client *http.Client, base string) (int, error) {
	return f(ctx, client, base)
}
