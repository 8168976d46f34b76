package shipments

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/downstream"
)

// clock is a settable clock.
type clock struct{ ms atomic.Int64 }

func (c *clock) Now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *clock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// confirmer is a fake channel: it answers each call with the next of its
// scripted results (the last repeats) and records the shipments it got.
type confirmer struct {
	mu      sync.Mutex
	answers []connectors.ShipmentResult
	errs    []error
	got     []connectors.Shipment
	// deadlines are the calls' context deadlines (zero: none).
	deadlines []time.Time
}

func (c *confirmer) Carriers() map[string]string {
	return map[string]string{"ups": "UPS", "fedex": "FEDEX", "dhl": "DHL"}
}

func (c *confirmer) ConfirmShipment(ctx context.Context, s connectors.Shipment) (connectors.ShipmentResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.got)
	c.got = append(c.got, s)
	dl, _ := ctx.Deadline()
	c.deadlines = append(c.deadlines, dl)
	var err error
	if n < len(c.errs) {
		err = c.errs[n]
	}
	a := c.answers[min(n, len(c.answers)-1)]
	return a, err
}

func (c *confirmer) calls() []connectors.Shipment {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]connectors.Shipment(nil), c.got...)
}

// env is a service over a real ledger: channel "shop" (with conf as its
// confirmer) and "plain" (no confirmer); SKU A has 10 at "main", order 1
// of shop has line L1 (3 of A) and L2 (2 of B), B having 5.
type env struct {
	s      *Service
	ledger *inventory.Ledger
	rdb    redis.UniversalClient
	prefix string
	clock  *clock
	conf   *confirmer
	reg    *prometheus.Registry
	pub    *downstream.Publisher
}

func newEnv(t *testing.T, conf *confirmer, wrap func(Ledger) Ledger) *env {
	t.Helper()
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	e := &env{rdb: rdb, prefix: prefix, clock: &clock{}, conf: conf, reg: prometheus.NewRegistry()}
	e.clock.ms.Store(time.Now().UnixMilli())
	e.ledger = inventory.New(rdb, inventory.Options{Prefix: prefix})
	for sku, n := range map[string]int64{"A": 10, "B": 5} {
		if _, err := e.ledger.Receive(ctx, inventory.Delta{Key: "r" + sku, SKU: sku, Location: "main", Quantity: n, Reason: "initial"}); err != nil {
			t.Fatal(err)
		}
	}
	e.channelState(t, "shop", "1", 100, 0, 0)
	e.pub = downstream.NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil)
	var l Ledger = e.ledger
	if wrap != nil {
		l = wrap(l)
	}
	e.s = New(Options{
		Redis: rdb, Prefix: prefix, Ledger: l, Publisher: e.pub, Locations: []string{"main", "back"},
		Channels:    []Channel{{Name: "shop", Confirmer: conf, Carriers: Carriers(conf.Carriers(), map[string]string{"acme": "ACME-1"})}, {Name: "plain"}},
		MaxAttempts: 3, Metrics: NewMetrics(e.reg), Logger: zerolog.Nop(), Now: e.clock.Now,
	})
	return e
}

// channelState applies order 1's lines as the channel reports them, at
// version ver, with l1 and l2 units shipped.
func (e *env) channelState(t *testing.T, channel, order string, ver, l1, l2 int64) {
	t.Helper()
	_, err := e.ledger.ApplyLines(context.Background(), []inventory.LineState{
		{Channel: channel, OrderID: order, LineID: "L1", SKU: "A", Location: "main", Ordered: 3, Shipped: l1, Version: ver},
		{Channel: channel, OrderID: order, LineID: "L2", SKU: "B", Location: "main", Ordered: 2, Shipped: l2, Version: ver},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// figures is on_hand and reserved of a SKU at main.
func (e *env) figures(t *testing.T, sku string) [2]int64 {
	t.Helper()
	st, err := e.ledger.Stock(context.Background(), sku)
	if err != nil {
		t.Fatal(err)
	}
	lv := st.Locations["main"]
	return [2]int64{lv.OnHand, lv.Reserved}
}

func req(key string, lines ...RequestLine) Request {
	return Request{Channel: "shop", OrderID: "1", Lines: lines, Carrier: "UPS", TrackingNumber: "1Z999AA10123456784",
		ShippedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), IdempotencyKey: key}
}

func TestSubmitStoresAppliesAndPublishesOnce(t *testing.T) {
	e := newEnv(t, &confirmer{answers: []connectors.ShipmentResult{{Status: connectors.ShipmentConfirmed}}}, nil)
	ctx := context.Background()
	out, err := e.s.Submit(ctx, req("k1", RequestLine{LineID: "L1", Quantity: 2}, RequestLine{SKU: "B", Quantity: 1}), "api")
	if err != nil || !out.New {
		t.Fatalf("Submit = %+v, %v; want new", out, err)
	}
	if got := e.figures(t, "A"); got != [2]int64{8, 1} {
		t.Errorf("A figures %v, want on hand 8, reserved 1", got)
	}
	if got := e.figures(t, "B"); got != [2]int64{4, 1} {
		t.Errorf("B figures %v, want on hand 4, reserved 1", got)
	}
	again, err := e.s.Submit(ctx, req("k1", RequestLine{LineID: "L1", Quantity: 2}, RequestLine{SKU: "B", Quantity: 1}), "stream")
	if err != nil || again.New || again.ID != out.ID {
		t.Fatalf("repeat = %+v, %v; want the same shipment, not new", again, err)
	}
	if got := e.figures(t, "A"); got != [2]int64{8, 1} {
		t.Errorf("after the repeat A figures %v, want unchanged 8,1", got)
	}
	n, err := e.rdb.XLen(ctx, downstream.StreamKey(e.prefix, "orders")).Result()
	if err != nil || n != 1 {
		t.Errorf("downstream entries %d (%v), want 1 (the order's shipped state once)", n, err)
	}
	views, err := e.s.ForOrder(ctx, "shop", "1")
	if err != nil || len(views) != 1 {
		t.Fatalf("ForOrder = %v, %v", views, err)
	}
	v := views[0]
	if !v.Applied || v.State.Status != StatusPending || v.CarrierCode != "UPS" || v.Carrier != "ups" ||
		!reflect.DeepEqual(v.Totals, map[string]int64{"L1": 2, "L2": 1}) {
		t.Errorf("view %+v", v)
	}
	if got := testutil.ToFloat64(e.s.o.Metrics.Total.WithLabelValues("shop", "accepted")); got != 1 {
		t.Errorf("accepted %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.s.o.Metrics.Total.WithLabelValues("shop", "duplicate")); got != 1 {
		t.Errorf("duplicate %v, want 1", got)
	}
}

func TestBadShipmentsAreRefusedAndStoreNothing(t *testing.T) {
	e := newEnv(t, &confirmer{answers: []connectors.ShipmentResult{{Status: connectors.ShipmentConfirmed}}}, nil)
	ctx := context.Background()
	if _, err := e.s.Submit(ctx, req("first", RequestLine{LineID: "L1", Quantity: 1}), "api"); err != nil {
		t.Fatal(err)
	}
	mod := func(f func(*Request)) Request {
		r := req("k2", RequestLine{LineID: "L1", Quantity: 1})
		f(&r)
		return r
	}
	cases := []struct {
		name   string
		r      Request
		status int
		open   map[string]int64
		known  []string
	}{
		{"unknown order", mod(func(r *Request) { r.OrderID = "9" }), 404, nil, nil},
		{"unknown line", mod(func(r *Request) { r.Lines[0].LineID = "L9" }), 404, nil, nil},
		{"unknown SKU", mod(func(r *Request) { r.Lines[0] = RequestLine{SKU: "Z", Quantity: 1} }), 404, nil, nil},
		{"unknown channel", mod(func(r *Request) { r.Channel = "nope" }), 404, nil, nil},
		{"more than open", mod(func(r *Request) {
			r.Lines = []RequestLine{{LineID: "L1", Quantity: 3}, {LineID: "L2", Quantity: 1}}
		}), 409, map[string]int64{"L1": 2, "L2": 2}, nil},
		{"more than open by SKU", mod(func(r *Request) { r.Lines[0] = RequestLine{SKU: "B", Quantity: 3} }), 409, map[string]int64{"L2": 2}, nil},
		{"same key, other body", mod(func(r *Request) { r.IdempotencyKey = "first"; r.Lines[0].Quantity = 2 }), 409, nil, nil},
		{"malformed UPS tracking", mod(func(r *Request) { r.TrackingNumber = "1Z12" }), 400, nil, nil},
		{"malformed FedEx tracking", mod(func(r *Request) { r.Carrier = "fedex"; r.TrackingNumber = "ABC" }), 400, nil, nil},
		{"unknown carrier", mod(func(r *Request) { r.Carrier = "pigeon" }), 400, nil, []string{"acme", "dhl", "fedex", "ups"}},
		{"no key", mod(func(r *Request) { r.IdempotencyKey = "" }), 400, nil, nil},
		{"no ship date", mod(func(r *Request) { r.ShippedAt = time.Time{} }), 400, nil, nil},
		{"zero quantity", mod(func(r *Request) { r.Lines[0].Quantity = 0 }), 400, nil, nil},
		{"line id and sku", mod(func(r *Request) { r.Lines[0].SKU = "A" }), 400, nil, nil},
		{"unknown location", mod(func(r *Request) { r.Location = "moon" }), 400, nil, nil},
		{"not a URL", mod(func(r *Request) { r.TrackingURL = "javascript:x" }), 400, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := [2][2]int64{e.figures(t, "A"), e.figures(t, "B")}
			_, err := e.s.Submit(ctx, c.r, "api")
			var se *Error
			if !errors.As(err, &se) || se.Status != c.status {
				t.Fatalf("err = %v, want status %d", err, c.status)
			}
			if c.open != nil && !reflect.DeepEqual(se.Open, c.open) {
				t.Errorf("open = %v, want %v", se.Open, c.open)
			}
			if c.known != nil && !reflect.DeepEqual(se.Known, c.known) {
				t.Errorf("known = %v, want %v", se.Known, c.known)
			}
			if after := [2][2]int64{e.figures(t, "A"), e.figures(t, "B")}; after != before {
				t.Errorf("figures moved: %v → %v", before, after)
			}
			views, _ := e.s.ForOrder(ctx, "shop", "1")
			if len(views) != 1 {
				t.Errorf("%d shipments stored, want only the first", len(views))
			}
		})
	}
}

// TestChannelStatesAroundAShipment: a channel state that has not seen the
// shipment (shipped 0, newer) does not undo it; the channel's own report
// of it (after the confirmation) does not count it twice; a second
// shipment then ships what is left, and no more.
func TestChannelStatesAroundAShipment(t *testing.T) {
	e := newEnv(t, &confirmer{answers: []connectors.ShipmentResult{{Status: connectors.ShipmentConfirmed}}}, nil)
	ctx := context.Background()
	if _, err := e.s.Submit(ctx, req("k1", RequestLine{LineID: "L1", Quantity: 2}), "api"); err != nil {
		t.Fatal(err)
	}
	e.channelState(t, "shop", "1", 200, 0, 0) // before the confirmation: shipped 0
	if got := e.figures(t, "A"); got != [2]int64{8, 1} {
		t.Errorf("after a channel state without the shipment: %v, want 8,1", got)
	}
	e.channelState(t, "shop", "1", 300, 2, 0) // the channel's report of it
	if got := e.figures(t, "A"); got != [2]int64{8, 1} {
		t.Errorf("after the channel's report of the shipment: %v, want 8,1", got)
	}
	_, err := e.s.Submit(ctx, req("k2", RequestLine{LineID: "L1", Quantity: 2}), "api")
	var se *Error
	if !errors.As(err, &se) || se.Status != http.StatusConflict || se.Open["L1"] != 1 {
		t.Fatalf("shipping 2 of 1 open: %v, want 409 with L1 open 1", err)
	}
	if _, err := e.s.Submit(ctx, req("k3", RequestLine{LineID: "L1", Quantity: 1}), "api"); err != nil {
		t.Fatal(err)
	}
	if got := e.figures(t, "A"); got != [2]int64{7, 0} {
		t.Errorf("after the last unit: %v, want 7,0", got)
	}
}

// failOnce fails ShipLines while fail is set: a crash between the store
// and the ledger.
type failOnce struct {
	Ledger
	fail atomic.Bool
}

func (f *failOnce) ShipLines(ctx context.Context, s []inventory.LocalShipment) ([]inventory.LineResult, error) {
	if f.fail.Load() {
		return nil, errors.New("killed mid-apply")
	}
	return f.Ledger.ShipLines(ctx, s)
}

func TestAShipmentStoredButNotAppliedIsAppliedByTheSweeper(t *testing.T) {
	var f *failOnce
	e := newEnv(t, &confirmer{answers: []connectors.ShipmentResult{{Status: connectors.ShipmentConfirmed}}}, func(l Ledger) Ledger {
		f = &failOnce{Ledger: l}
		return f
	})
	f.fail.Store(true)
	ctx := context.Background()
	out, err := e.s.Submit(ctx, req("k1", RequestLine{LineID: "L1", Quantity: 3}), "api")
	if err != nil || !out.New {
		t.Fatalf("Submit = %+v, %v: the shipment is stored, its apply is the sweeper's", out, err)
	}
	if got := e.figures(t, "A"); got != [2]int64{10, 3} {
		t.Fatalf("figures %v before the sweep, want 10,3", got)
	}
	views, _ := e.s.ForOrder(ctx, "shop", "1")
	if len(views) != 1 || views[0].Applied {
		t.Fatalf("views %+v, want one not applied", views)
	}
	f.fail.Store(false)
	e.s.sweep(ctx) // too young: left alone
	if got := e.figures(t, "A"); got != [2]int64{10, 3} {
		t.Fatalf("a young shipment was swept: %v", got)
	}
	unapplied := func() float64 {
		e.s.gauges(ctx)
		return testutil.ToFloat64(e.s.o.Metrics.Unapplied.WithLabelValues("shop"))
	}
	if got := unapplied(); got != 0 {
		t.Errorf("unapplied gauge %v for a young shipment, want 0", got)
	}
	e.clock.Advance(sweepAge + time.Second)
	if got := unapplied(); got != 1 {
		t.Errorf("unapplied gauge %v before the sweep, want 1", got)
	}
	e.s.sweep(ctx)
	e.s.sweep(ctx) // twice: nothing more
	if got := unapplied(); got != 0 {
		t.Errorf("unapplied gauge %v after the sweep, want 0", got)
	}
	if got := e.figures(t, "A"); got != [2]int64{7, 0} {
		t.Errorf("figures %v after the sweep, want 7,0", got)
	}
	views, _ = e.s.ForOrder(ctx, "shop", "1")
	if len(views) != 1 || !views[0].Applied {
		t.Errorf("views %+v, want applied", views)
	}
}

// TestConfirmationRetriesThenConfirms: a retry (Retry-After honoured)
// and a transport error are retried; the confirmation is recorded once.
func TestConfirmationRetriesThenConfirms(t *testing.T) {
	conf := &confirmer{
		answers: []connectors.ShipmentResult{
			{Status: connectors.ShipmentRetry, Reason: "429", RetryAfter: 30 * time.Second},
			{Status: connectors.ShipmentRetry},
			{Status: connectors.ShipmentConfirmed, Ref: "F-1"},
		},
		errs: []error{nil, errors.New("connection reset")},
	}
	e := newEnv(t, conf, nil)
	ctx := context.Background()
	if _, err := e.s.Submit(ctx, req("k1", RequestLine{LineID: "L1", Quantity: 1}), "api"); err != nil {
		t.Fatal(err)
	}
	ch := e.s.channels["shop"]
	step := func() {
		ids, err := claimScript.Run(ctx, e.rdb, []string{e.s.keys("shop").queue()}, e.clock.Now().UnixMilli(), claimFor.Milliseconds(), 10).StringSlice()
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			e.s.confirmOne(ctx, ch, id, e.clock.Now().Add(claimFor).UnixMilli())
		}
	}
	state := func() State {
		v, err := e.s.ForOrder(ctx, "shop", "1")
		if err != nil || len(v) != 1 {
			t.Fatalf("ForOrder %v %v", v, err)
		}
		return v[0].State
	}
	step()
	if st := state(); st.Status != StatusRetrying || st.Attempts != 1 || st.NextAt == nil || st.NextAt.Sub(e.clock.Now()) != 30*time.Second {
		t.Fatalf("after a 429: %+v, want retrying in 30s", st)
	}
	step() // not due yet
	if n := len(conf.calls()); n != 1 {
		t.Fatalf("%d calls before the Retry-After passed, want 1", n)
	}
	e.clock.Advance(30 * time.Second)
	step()
	if st := state(); st.Status != StatusRetrying || st.Reason != "connection reset" {
		t.Fatalf("after an error: %+v", st)
	}
	e.clock.Advance(maxBackoff)
	step()
	st := state()
	if st.Status != StatusConfirmed || st.Ref != "F-1" || st.Attempts != 3 {
		t.Fatalf("after the confirmation: %+v", st)
	}
	e.clock.Advance(maxBackoff)
	step()
	calls := conf.calls()
	if len(calls) != 3 {
		t.Errorf("%d calls, want 3", len(calls))
	}
	if c := calls[2]; c.CarrierCode != "UPS" || c.TrackingNumber != "1Z999AA10123456784" || len(c.Lines) != 1 || c.Lines[0] != (connectors.ShipmentLine{LineID: "L1", SKU: "A", Quantity: 1}) || c.ID == "" {
		t.Errorf("confirmation sent %+v", c)
	}
	if got := testutil.ToFloat64(e.s.o.Metrics.Total.WithLabelValues("shop", "confirmed")); got != 1 {
		t.Errorf("confirmed %v, want 1", got)
	}
	var m dto.Metric
	if err := e.s.o.Metrics.Latency.WithLabelValues("shop").(prometheus.Metric).Write(&m); err != nil || m.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("latency observations %d (%v), want 1", m.GetHistogram().GetSampleCount(), err)
	}
}

func TestRefusedAndGivenUpConfirmationsAreParked(t *testing.T) {
	for _, c := range []struct {
		name   string
		answer connectors.ShipmentResult
		calls  int
		reason string
		counts map[string]float64 // each attempt counted once, under one outcome
	}{
		{"refused", connectors.ShipmentResult{Status: connectors.ShipmentRefused, Reason: "line already fulfilled"}, 1, "line already fulfilled",
			map[string]float64{"refused": 1, "retry": 0, "gave_up": 0}},
		{"given up", connectors.ShipmentResult{Status: connectors.ShipmentRetry, Reason: "503"}, 3, "given up after 3 attempts; last: 503",
			map[string]float64{"refused": 0, "retry": 2, "gave_up": 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := &confirmer{answers: []connectors.ShipmentResult{c.answer}}
			e := newEnv(t, conf, nil)
			ctx := context.Background()
			out, err := e.s.Submit(ctx, req("k1", RequestLine{LineID: "L1", Quantity: 1}), "api")
			if err != nil {
				t.Fatal(err)
			}
			for range 6 {
				ids, _ := claimScript.Run(ctx, e.rdb, []string{e.s.keys("shop").queue()}, e.clock.Now().UnixMilli(), claimFor.Milliseconds(), 10).StringSlice()
				for _, id := range ids {
					e.s.confirmOne(ctx, e.s.channels["shop"], id, e.clock.Now().Add(claimFor).UnixMilli())
				}
				e.clock.Advance(maxBackoff)
			}
			if n := len(conf.calls()); n != c.calls {
				t.Errorf("%d calls, want %d (never retried for ever)", n, c.calls)
			}
			v, _ := e.s.ForOrder(ctx, "shop", "1")
			if len(v) != 1 || v[0].State.Status != StatusRefused || v[0].State.Reason != c.reason {
				t.Fatalf("state %+v, want refused: %s", v, c.reason)
			}
			for o, want := range c.counts {
				if got := testutil.ToFloat64(e.s.o.Metrics.Total.WithLabelValues("shop", o)); got != want {
					t.Errorf("outcome %s counted %v, want %v", o, got, want)
				}
			}
			e.s.gauges(ctx)
			if got := testutil.ToFloat64(e.s.o.Metrics.Parked.WithLabelValues("shop")); got != 1 {
				t.Errorf("parked gauge %v, want 1", got)
			}
			ok, err := e.s.Requeue(ctx, "shop", out.ID)
			if err != nil || !ok {
				t.Fatalf("Requeue = %v, %v", ok, err)
			}
			e.s.gauges(ctx)
			if got := testutil.ToFloat64(e.s.o.Metrics.Parked.WithLabelValues("shop")); got != 0 {
				t.Errorf("parked gauge %v after the requeue, want 0", got)
			}
		})
	}
}

// TestRunConfirmsEachShipmentOnce runs the workers against a batch of
// shipments submitted concurrently, each twice: every shipment is
// confirmed once, and on hand drops by the units shipped.
func TestRunConfirmsEachShipmentOnce(t *testing.T) {
	conf := &confirmer{answers: []connectors.ShipmentResult{{Status: connectors.ShipmentConfirmed}}}
	e := newEnv(t, conf, nil)
	e.s.o.Now = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.s.Run(ctx) }()
	const orders = 12
	for i := range orders {
		e.channelState(t, "shop", "o"+string(rune('a'+i)), 100, 0, 0)
	}
	var wg sync.WaitGroup
	for i := range orders * 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := req("k"+string(rune('a'+i%orders)), RequestLine{LineID: "L1", Quantity: 1})
			r.OrderID = "o" + string(rune('a'+i%orders))
			if _, err := e.s.Submit(context.Background(), r, "api"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for len(conf.calls()) < orders {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range conf.calls() {
		seen[c.OrderID]++
	}
	if len(seen) != orders {
		t.Errorf("orders confirmed %d, want %d", len(seen), orders)
	}
	for o, n := range seen {
		if n != 1 {
			t.Errorf("order %s confirmed %d times", o, n)
		}
	}
	// 10 seeded; order 1 and the 12 others each reserve 3; 12 shipped.
	if got := e.figures(t, "A"); got != [2]int64{10 - orders, 3 + orders*2} {
		t.Errorf("A figures %v, want on hand %d", got, 10-orders)
	}
}

// TestALateOutcomeDoesNotOverwriteAnotherWorkers: a worker whose claim
// ran out and was taken by another worker records nothing: its late
// retry neither overwrites the other's confirmation nor queues the
// shipment again.
func TestALateOutcomeDoesNotOverwriteAnotherWorkers(t *testing.T) {
	conf := &confirmer{answers: []connectors.ShipmentResult{{Status: connectors.ShipmentConfirmed, Ref: "F-1"}}}
	e := newEnv(t, conf, nil)
	ctx := context.Background()
	out, err := e.s.Submit(ctx, req("k1", RequestLine{LineID: "L1", Quantity: 1}), "api")
	if err != nil {
		t.Fatal(err)
	}
	q := e.s.keys("shop").queue()
	claim := func() []string {
		ids, err := claimScript.Run(ctx, e.rdb, []string{q}, e.clock.Now().UnixMilli(), claimFor.Milliseconds(), 10).StringSlice()
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	// Worker 1 claims and reads the shipment, then stalls past its claim.
	if ids := claim(); len(ids) != 1 {
		t.Fatalf("worker 1 claimed %v", ids)
	}
	tok1 := e.clock.Now().Add(claimFor).UnixMilli()
	rec, st, err := e.s.load(ctx, "shop", out.ID)
	if err != nil || rec == nil {
		t.Fatalf("load: %v %v", rec, err)
	}
	e.clock.Advance(claimFor + time.Second)
	// Worker 2 takes it over and confirms it.
	ids := claim()
	if len(ids) != 1 {
		t.Fatalf("worker 2 claimed %v", ids)
	}
	e.s.confirmOne(ctx, e.s.channels["shop"], ids[0], e.clock.Now().Add(claimFor).UnixMilli())
	// Worker 1's late retry.
	e.s.record(ctx, "shop", rec, st, connectors.ShipmentResult{Status: connectors.ShipmentRetry, Reason: "timeout"}, tok1)
	v, err := e.s.ForOrder(ctx, "shop", "1")
	if err != nil || len(v) != 1 || v[0].State.Status != StatusConfirmed || v[0].State.Ref != "F-1" {
		t.Fatalf("state %+v (%v), want confirmed F-1", v, err)
	}
	if n, err := e.rdb.ZCard(ctx, q).Result(); err != nil || n != 0 {
		t.Errorf("queue holds %d (%v), want 0", n, err)
	}
	if got := testutil.ToFloat64(e.s.o.Metrics.Total.WithLabelValues("shop", "retry")); got != 0 {
		t.Errorf("retry counted %v, want 0 (the late outcome was not recorded)", got)
	}
}

// TestAnAttemptDoesNotOutliveItsClaim: an attempt that starts late (its
// worker freed late, a slow record load) is cut off before its claim
// runs out, not attemptTimeout after it started, so no other worker can
// take the shipment and confirm it while the call is still in flight
// (Shopify's fulfillmentCreate is not idempotent).
func TestAnAttemptDoesNotOutliveItsClaim(t *testing.T) {
	conf := &confirmer{answers: []connectors.ShipmentResult{{Status: connectors.ShipmentConfirmed, Ref: "F-1"}}}
	e := newEnv(t, conf, nil)
	ctx := context.Background()
	if _, err := e.s.Submit(ctx, req("k1", RequestLine{LineID: "L1", Quantity: 1}), "api"); err != nil {
		t.Fatal(err)
	}
	ids, err := claimScript.Run(ctx, e.rdb, []string{e.s.keys("shop").queue()}, e.clock.Now().UnixMilli(), claimFor.Milliseconds(), 10).StringSlice()
	if err != nil || len(ids) != 1 {
		t.Fatalf("claimed %v (%v)", ids, err)
	}
	tok := e.clock.Now().Add(claimFor).UnixMilli()
	left := 20 * time.Second // the attempt starts with this much of its claim left
	e.clock.Advance(claimFor - left)
	expires := time.Now().Add(left) // the claim's end on the real clock, at the latest
	e.s.confirmOne(ctx, e.s.channels["shop"], ids[0], tok)
	conf.mu.Lock()
	dls := slices.Clone(conf.deadlines)
	conf.mu.Unlock()
	if len(dls) != 1 {
		t.Fatalf("%d calls, want 1", len(dls))
	}
	if dls[0].IsZero() || !dls[0].Before(expires) {
		t.Errorf("the attempt's deadline is %s after the claim's end, want it before", dls[0].Sub(expires))
	}
}

// TestAnAttemptTooLateForItsClaimIsNotMade: a worker whose claim ran out
// (or nearly) before its attempt began makes no call (another worker may
// have taken the shipment); the shipment is due again and the next claim
// confirms it once.
func TestAnAttemptTooLateForItsClaimIsNotMade(t *testing.T) {
	conf := &confirmer{answers: []connectors.ShipmentResult{{Status: connectors.ShipmentConfirmed, Ref: "F-1"}}}
	e := newEnv(t, conf, nil)
	ctx := context.Background()
	if _, err := e.s.Submit(ctx, req("k1", RequestLine{LineID: "L1", Quantity: 1}), "api"); err != nil {
		t.Fatal(err)
	}
	q := e.s.keys("shop").queue()
	claim := func() []string {
		ids, err := claimScript.Run(ctx, e.rdb, []string{q}, e.clock.Now().UnixMilli(), claimFor.Milliseconds(), 10).StringSlice()
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for _, late := range []time.Duration{claimFor - claimMargin(claimFor)/2, claimFor + time.Second} {
		ids := claim()
		if len(ids) != 1 {
			t.Fatalf("claimed %v", ids)
		}
		tok := e.clock.Now().Add(claimFor).UnixMilli()
		e.clock.Advance(late)
		e.s.confirmOne(ctx, e.s.channels["shop"], ids[0], tok)
		if n := len(conf.calls()); n != 0 {
			t.Fatalf("starting %s into a %s claim: %d calls, want none", late, claimFor, n)
		}
		e.clock.Advance(claimFor - late + time.Second) // the claim has run out
	}
	ids := claim()
	if len(ids) != 1 {
		t.Fatalf("claimed %v after the claims ran out", ids)
	}
	e.s.confirmOne(ctx, e.s.channels["shop"], ids[0], e.clock.Now().Add(claimFor).UnixMilli())
	v, err := e.s.ForOrder(ctx, "shop", "1")
	if err != nil || len(v) != 1 || v[0].State.Status != StatusConfirmed || len(conf.calls()) != 1 {
		t.Fatalf("state %+v (%v), %d calls; want confirmed with 1", v, err, len(conf.calls()))
	}
}

// TestThrottlesDoNotUseUpTheAttempts: a channel that throttles more
// times than the attempt budget (3 here) does not get the shipment
// given up; each throttle still waits (its Retry-After), and the
// confirmation goes through when the channel lets it.
func TestThrottlesDoNotUseUpTheAttempts(t *testing.T) {
	throttled := connectors.ShipmentResult{Status: connectors.ShipmentRetry, Reason: "429", RetryAfter: 500 * time.Millisecond, Throttled: true}
	conf := &confirmer{answers: []connectors.ShipmentResult{throttled, throttled, throttled, throttled, throttled, {Status: connectors.ShipmentConfirmed, Ref: "F-1"}}}
	e := newEnv(t, conf, nil)
	ctx := context.Background()
	if _, err := e.s.Submit(ctx, req("k1", RequestLine{LineID: "L1", Quantity: 1}), "api"); err != nil {
		t.Fatal(err)
	}
	state := func() State {
		v, err := e.s.ForOrder(ctx, "shop", "1")
		if err != nil || len(v) != 1 {
			t.Fatalf("ForOrder %v %v", v, err)
		}
		return v[0].State
	}
	for i := range 6 {
		ids, err := claimScript.Run(ctx, e.rdb, []string{e.s.keys("shop").queue()}, e.clock.Now().UnixMilli(), claimFor.Milliseconds(), 10).StringSlice()
		if err != nil || len(ids) != 1 {
			t.Fatalf("round %d: claimed %v (%v)", i, ids, err)
		}
		e.s.confirmOne(ctx, e.s.channels["shop"], ids[0], e.clock.Now().Add(claimFor).UnixMilli())
		st := state()
		if i < 5 {
			if st.Status != StatusRetrying || st.NextAt == nil || st.NextAt.Sub(e.clock.Now()) != 500*time.Millisecond {
				t.Fatalf("after throttle %d: %+v, want retrying after the Retry-After", i+1, st)
			}
		}
		e.clock.Advance(500 * time.Millisecond)
	}
	if st := state(); st.Status != StatusConfirmed || st.Ref != "F-1" {
		t.Fatalf("after the throttles: %+v, want confirmed", state())
	}
	if got := testutil.ToFloat64(e.s.o.Metrics.Total.WithLabelValues("shop", "gave_up")); got != 0 {
		t.Errorf("gave_up %v, want 0", got)
	}
}

// TestShipmentsFromTwoLocations: a line reserved at main ships one unit
// from main, then one from back: each location loses the unit it
// shipped, and main's reservation drops by both (the unit that left main
// is not credited back when the second ships from back).
func TestShipmentsFromTwoLocations(t *testing.T) {
	e := newEnv(t, &confirmer{answers: []connectors.ShipmentResult{{Status: connectors.ShipmentConfirmed}}}, nil)
	ctx := context.Background()
	if _, err := e.ledger.Receive(ctx, inventory.Delta{Key: "rback", SKU: "A", Location: "back", Quantity: 10, Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	first := req("k1", RequestLine{LineID: "L1", Quantity: 1})
	first.Location = "main"
	second := req("k2", RequestLine{LineID: "L1", Quantity: 1})
	second.Location = "back"
	for _, r := range []Request{first, second} {
		if out, err := e.s.Submit(ctx, r, "api"); err != nil || !out.New {
			t.Fatalf("Submit %s = %+v, %v", r.IdempotencyKey, out, err)
		}
	}
	st, err := e.ledger.Stock(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	m, b := st.Locations["main"], st.Locations["back"]
	if m.OnHand != 9 || m.Reserved != 1 || b.OnHand != 9 || b.Reserved != 0 {
		t.Errorf("main %d/%d, back %d/%d; want main 9 on hand 1 reserved, back 9/0", m.OnHand, m.Reserved, b.OnHand, b.Reserved)
	}
}
