package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

// fakeConnector is a connector of any kind for wiring tests: it verifies
// webhooks by a shared secret in X-Test-Secret (the channel's first
// webhook secret), runs a loop that emits one event, and is ready when
// ready is nil.
type fakeConnector struct {
	kind   string
	secret string

	mu      sync.Mutex
	ready   error
	started chan struct{}
	// ignoreCtx makes Run hold on past its context, until release closes.
	ignoreCtx bool
	release   chan struct{}
	// runErr makes Run fail at once, as a loop that can not go on.
	runErr error
	// pushed records every accepted push, in order.
	pushed []connectors.QuantityUpdate
}

var (
	_ connectors.WebhookVerifier = (*fakeConnector)(nil)
	_ connectors.Runner          = (*fakeConnector)(nil)
	_ connectors.Checker         = (*fakeConnector)(nil)
	_ connectors.QuantityPusher  = (*fakeConnector)(nil)
)

func (f *fakeConnector) MaxBatch() int { return 50 }

// PushQuantities accepts every update and records it.
func (f *fakeConnector) PushQuantities(_ context.Context, updates []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]connectors.PushResult, len(updates))
	for i, u := range updates {
		f.pushed = append(f.pushed, u)
		out[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushAccepted}
	}
	return out, nil
}

// lastPushed is the last quantity pushed for sku, if any.
func (f *fakeConnector) lastPushed(sku string) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.pushed) - 1; i >= 0; i-- {
		if f.pushed[i].SKU == sku {
			return f.pushed[i].Quantity, true
		}
	}
	return 0, false
}

func (f *fakeConnector) Kind() string { return f.kind }

func (f *fakeConnector) ParseWebhook(_ context.Context, r *connectors.WebhookRequest) ([]connectors.Event, error) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Test-Secret")), []byte(f.secret)) != 1 {
		return nil, connectors.Unauthorized("bad_secret", nil)
	}
	return []connectors.Event{{Kind: connectors.EventOrderChanged, OrderID: string(bytes.TrimSpace(r.Body))}}, nil
}

func (f *fakeConnector) Run(ctx context.Context, sink connectors.EventSink) error {
	if f.runErr != nil {
		close(f.started)
		return f.runErr
	}
	// started closes after the Put, so a test that waited for it finds the event.
	err := sink.Put(ctx, []connectors.Event{{Kind: connectors.EventOrderChanged, Channel: "from-runner", OrderID: "runner-1"}})
	close(f.started)
	if err != nil {
		return err
	}
	if f.ignoreCtx {
		<-f.release
		return nil
	}
	<-ctx.Done()
	return nil
}

func (f *fakeConnector) Ready() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready
}

// fakeFactory builds fakeConnectors and remembers them by channel. It
// refuses a channel named "refused", as a real factory refuses a setting.
type fakeFactory struct {
	mu    sync.Mutex
	built map[string]*fakeConnector
	// configure adjusts each connector as it is built.
	configure func(*fakeConnector)
}

func (ff *fakeFactory) New(d connectors.Deps) (connectors.Connector, error) {
	if d.Channel.Name == "refused" {
		return nil, fmt.Errorf("channel %s: shop: not a myshopify.com domain", d.Channel.Name)
	}
	if !slices.Contains(config.Kinds(), d.Channel.Kind) {
		return nil, errors.New("unknown kind")
	}
	f := &fakeConnector{kind: d.Channel.Kind, started: make(chan struct{}), release: make(chan struct{})}
	if len(d.Channel.Webhook.Secrets) > 0 {
		f.secret = d.Channel.Webhook.Secrets[0].Value()
	}
	if ff.configure != nil {
		ff.configure(f)
	}
	ff.mu.Lock()
	defer ff.mu.Unlock()
	if ff.built == nil {
		ff.built = map[string]*fakeConnector{}
	}
	ff.built[d.Channel.Name] = f
	return f, nil
}

func (ff *fakeFactory) get(name string) *fakeConnector {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	return ff.built[name]
}

// registeredOrFake builds with the real registry where the kind is
// registered (once connectors/all is linked in) and with a fake otherwise,
// so the examples validate against real connectors when they exist.
func registeredOrFake(d connectors.Deps) (connectors.Connector, error) {
	if slices.Contains(connectors.Registered(), d.Channel.Kind) {
		return connectors.New(d)
	}
	return (&fakeFactory{}).New(d)
}

// syncBuffer is a bytes.Buffer the daemon's goroutines may write to while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
