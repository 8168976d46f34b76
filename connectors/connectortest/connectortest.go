// Package connectortest is the contract every connector's pusher and
// reader keeps, written once: each connector runs Run against its own fake
// (connectors/<kind>/<kind>test), so four marketplaces cannot drift apart
// on what the engine relies on:
//
//   - one result per update, in the updates' order, naming its SKU;
//   - a SKU the channel does not list is PushUnknownSKU, and never fails
//     the others;
//   - an item the channel refuses is that item's result (failed or
//     retry), never the batch's;
//   - the same SKU twice in a batch never leaves the channel at a value
//     no accepted item carried;
//   - a cancelled context ends the call with an error and changes
//     nothing;
//   - a channel answering 5xx or 401 to everything yields a whole-call
//     error or retry results, never an accepted, failed or unknown item;
//   - a reader returns exactly the listed SKUs asked for, with their
//     quantities.
//
// It is for tests only; it talks to nothing but the fake it is given.
package connectortest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
)

// Channel is one connector under test against a fresh fake.
type Channel struct {
	Pusher connectors.QuantityPusher
	// Reader is nil when the connector can not read quantities.
	Reader connectors.QuantityReader
	// List makes sku a listing of the fake with qty units.
	List func(sku string, qty int64)
	// Listed is what the fake lists for sku now.
	Listed func(sku string) (int64, bool)
	// Refuse makes the fake refuse every write of sku as the channel
	// refuses a bad item (a per-item error, the others unaffected).
	Refuse func(sku string)
	// Proxy, when the connector was pointed at it (Proxy.URL), lets the
	// suite make the channel fail every call.
	Proxy *Proxy
}

// Run runs the contract. newChannel builds a fresh connector and fake for
// each subtest (the connector's HTTP client should retry little: the
// failing-channel case waits out its retries).
func Run(t *testing.T, newChannel func(t *testing.T) *Channel) {
	t.Run("results per item in order", func(t *testing.T) { resultsInOrder(t, newChannel(t)) })
	t.Run("unknown SKUs only", func(t *testing.T) { unknownOnly(t, newChannel(t)) })
	t.Run("duplicate SKUs", func(t *testing.T) { duplicates(t, newChannel(t)) })
	t.Run("cancelled context", func(t *testing.T) { cancelled(t, newChannel(t)) })
	for _, code := range []int{http.StatusInternalServerError, http.StatusUnauthorized} {
		t.Run("channel answers "+http.StatusText(code), func(t *testing.T) { failing(t, newChannel(t), code) })
	}
	t.Run("reader", func(t *testing.T) { reader(t, newChannel(t)) })
}

func push(t *testing.T, c *Channel, ups []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	t.Helper()
	for i := range ups {
		if ups[i].Attempt == "" {
			ups[i].Attempt = "contract-" + ups[i].SKU + "-" + string(rune('a'+i))
		}
	}
	res, err := c.Pusher.PushQuantities(context.Background(), ups)
	if err == nil && len(res) != len(ups) {
		t.Fatalf("%d results for %d updates", len(res), len(ups))
	}
	if err == nil {
		for i, r := range res {
			if r.SKU != ups[i].SKU {
				t.Fatalf("result %d names %q, update %d is %q: results out of order", i, r.SKU, i, ups[i].SKU)
			}
		}
	}
	return res, err
}

func resultsInOrder(t *testing.T, c *Channel) {
	c.List("CT-A", 10)
	c.List("CT-B", 10)
	c.List("CT-C", 10)
	c.Refuse("CT-B")
	res, err := push(t, c, []connectors.QuantityUpdate{
		{SKU: "CT-C", Quantity: 1}, {SKU: "CT-B", Quantity: 2}, {SKU: "CT-X", Quantity: 3}, {SKU: "CT-A", Quantity: 4},
	})
	if err != nil {
		t.Fatalf("a batch with one refused and one unknown item failed whole: %v", err)
	}
	want := []connectors.PushStatus{connectors.PushAccepted, "", connectors.PushUnknownSKU, connectors.PushAccepted}
	for i, w := range want {
		switch {
		case w == "":
			if s := res[i].Status; s != connectors.PushFailed && s != connectors.PushRetry {
				t.Errorf("refused item: %s, want failed or retry", s)
			}
		case res[i].Status != w:
			t.Errorf("item %d (%s): %s, want %s (%s)", i, res[i].SKU, res[i].Status, w, res[i].Reason)
		}
	}
	for sku, q := range map[string]int64{"CT-A": 4, "CT-C": 1, "CT-B": 10} {
		if got, ok := c.Listed(sku); !ok || got != q {
			t.Errorf("%s lists %d (%v), want %d", sku, got, ok, q)
		}
	}
}

func unknownOnly(t *testing.T, c *Channel) {
	res, err := push(t, c, []connectors.QuantityUpdate{{SKU: "CT-NONE-1", Quantity: 1}, {SKU: "CT-NONE-2", Quantity: 0}})
	if err != nil {
		t.Fatalf("unknown SKUs failed the call: %v", err)
	}
	for _, r := range res {
		if r.Status != connectors.PushUnknownSKU {
			t.Errorf("%s: %s, want unknown_sku", r.SKU, r.Status)
		}
	}
}

func duplicates(t *testing.T, c *Channel) {
	c.List("CT-D", 10)
	res, err := push(t, c, []connectors.QuantityUpdate{{SKU: "CT-D", Quantity: 5}, {SKU: "CT-D", Quantity: 6}})
	if err != nil {
		return // refusing the whole batch is allowed: nothing was recorded
	}
	got, ok := c.Listed("CT-D")
	if !ok {
		t.Fatal("the listing vanished")
	}
	var accepted []int64
	for i, r := range res {
		if r.Status == connectors.PushAccepted {
			accepted = append(accepted, []int64{5, 6}[i])
		}
	}
	switch {
	case len(accepted) == 0 && got != 10:
		t.Errorf("nothing accepted, yet the channel lists %d (was 10)", got)
	case len(accepted) > 0 && got != accepted[len(accepted)-1]:
		t.Errorf("accepted %v, the channel lists %d: not the last accepted value", accepted, got)
	}
}

func cancelled(t *testing.T, c *Channel) {
	c.List("CT-E", 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := c.Pusher.PushQuantities(ctx, []connectors.QuantityUpdate{{SKU: "CT-E", Quantity: 3, Attempt: "contract-cancelled"}})
	if err == nil {
		for _, r := range res {
			if r.Status == connectors.PushAccepted || r.Status == connectors.PushFailed || r.Status == connectors.PushUnknownSKU {
				t.Fatalf("a cancelled call gave a final result: %+v", r)
			}
		}
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call: %v, want an error wrapping context.Canceled", err)
	}
	if got, _ := c.Listed("CT-E"); got != 10 {
		t.Errorf("a cancelled call changed the listing to %d", got)
	}
}

func failing(t *testing.T, c *Channel, code int) {
	if c.Proxy == nil {
		t.Skip("the connector was not pointed at a connectortest.Proxy")
	}
	c.List("CT-F", 10)
	c.Proxy.FailAll(code)
	res, err := push(t, c, []connectors.QuantityUpdate{{SKU: "CT-F", Quantity: 3}})
	if err == nil {
		for _, r := range res {
			if r.Status != connectors.PushRetry {
				t.Errorf("every call answered %d, yet the item is %s (%s)", code, r.Status, r.Reason)
			}
		}
	}
	c.Proxy.FailAll(0)
	if got, _ := c.Listed("CT-F"); got != 10 {
		t.Errorf("a failing channel changed the listing to %d", got)
	}
}

func reader(t *testing.T, c *Channel) {
	if c.Reader == nil {
		t.Skip("the connector can not read quantities")
	}
	c.List("CT-R1", 7)
	c.List("CT-R2", 0)
	live, err := c.Reader.ReadQuantities(context.Background(), []string{"CT-R1", "CT-R2", "CT-NONE"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, lq := range live {
		got[lq.SKU] = lq.Quantity
	}
	if len(got) != 2 || got["CT-R1"] != 7 || got["CT-R2"] != 0 {
		t.Errorf("read %v, want CT-R1 7 and CT-R2 0 only", live)
	}
}

// Proxy stands between a connector and its fake, forwarding everything
// until told to fail every call with a status.
type Proxy struct {
	URL  string
	code atomic.Int32
	srv  *httptest.Server
}

// NewProxy forwards to target (the fake's base URL); closed at the test's end.
func NewProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{}
	client := &http.Client{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code := int(p.code.Load()); code != 0 {
			http.Error(w, `{"errors":[{"message":"failing on purpose"}]}`, code)
			return
		}
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.URL.Scheme, out.URL.Host = u.Scheme, u.Host
		out.Host = u.Host
		resp, err := client.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// FailAll answers every call with code from now on (0: forward again).
func (p *Proxy) FailAll(code int) { p.code.Store(int32(code)) }
