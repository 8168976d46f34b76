package demo

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors/amazon"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

func TestQuantile(t *testing.T) {
	bounds := []float64{0.1, 0.2, 0.5, 1}
	tests := []struct {
		name   string
		counts []float64
		total  float64
		q      float64
		want   float64
	}{
		{name: "empty", counts: []float64{0, 0, 0, 0}, total: 0, q: 0.5, want: math.NaN()},
		{name: "all in the first bucket, interpolated from zero", counts: []float64{10, 10, 10, 10}, total: 10, q: 0.5, want: 0.05},
		{name: "median in the second bucket", counts: []float64{2, 6, 10, 10}, total: 10, q: 0.5, want: 0.1 + 0.1*(5-2)/4},
		{name: "p99 in the third bucket", counts: []float64{0, 0, 100, 100}, total: 100, q: 0.99, want: 0.2 + 0.3*0.99},
		{name: "above the last bound reports the last bound", counts: []float64{0, 0, 0, 1}, total: 3, q: 0.99, want: 1},
		{name: "rank on a bucket edge", counts: []float64{5, 10, 10, 10}, total: 10, q: 0.5, want: 0.1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := Histogram{Bounds: bounds, Counts: tc.counts, Total: tc.total}
			got := h.Quantile(tc.q)
			if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-9) {
				t.Fatalf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

func TestHistogramSub(t *testing.T) {
	later := Histogram{Bounds: []float64{1, 2}, Counts: []float64{5, 9}, Total: 9}
	earlier := Histogram{Bounds: []float64{1, 2}, Counts: []float64{5, 6}, Total: 6}
	d := later.Sub(earlier)
	if d.Total != 3 || d.Counts[0] != 0 || d.Counts[1] != 3 {
		t.Fatalf("Sub = %+v, want 3 observations all in the second bucket", d)
	}
	if q := d.Quantile(0.5); q <= 1 || q > 2 {
		t.Fatalf("median of the window = %v, want within (1, 2]", q)
	}
}

func TestConfigPointsEveryChannelAtItsFake(t *testing.T) {
	f := StartFakes(0, AmazonPublished)
	defer f.Close()
	cfg, err := Config(f, ConfigOptions{RedisAddr: "127.0.0.1:6379", KeyPrefix: "p:", Listen: "127.0.0.1:9999", AdminToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{Shopify: shop(f).URL(), Ebay: eb(f).URL(), Amazon: amz(f).URL}
	for _, name := range ChannelNames() {
		if _, ok := want[name]; !ok {
			want[name] = f.Channel(name).URL()
		}
	}
	if len(cfg.Channels) != len(want) {
		t.Fatalf("%d channels, want %d", len(cfg.Channels), len(want))
	}
	for _, ch := range cfg.Channels {
		if ch.APIURL != want[ch.Name] {
			t.Errorf("%s api_url %q, want %q", ch.Name, ch.APIURL, want[ch.Name])
		}
		if ch.Poll != "@every 15s" || ch.Reconcile != "@every 30s" {
			t.Errorf("%s poll %q reconcile %q", ch.Name, ch.Poll, ch.Reconcile)
		}
		if len(ch.Locations) != 2 || ch.Locations[0] != LocationWarehouse {
			t.Errorf("%s locations %v", ch.Name, ch.Locations)
		}
	}
	sh := cfg.ChannelByName(Shopify)
	if sh.Webhook.Secrets[0].Value() != shop(f).Options().WebhookSecret {
		t.Error("the Shopify channel does not verify with the fake's webhook secret")
	}
	am := cfg.ChannelByName(Amazon)
	as := am.Settings.(*amazon.Settings)
	if as.SQS.QueueURL != amz(f).QueueURL() || as.FeedThreshold <= am.BatchSize {
		t.Errorf("amazon sqs %q, feed threshold %d, batch %d", as.SQS.QueueURL, as.FeedThreshold, am.BatchSize)
	}
	if cfg.HTTP.AdminToken.Value() != "tok" || cfg.Redis.KeyPrefix != "p:" {
		t.Error("admin token or key prefix not taken")
	}
}

// recordingEngine is the part of the engine Seed uses: a real ledger, and
// the reported quantities remembered.
type recordingEngine struct {
	l        *inventory.Ledger
	mu       sync.Mutex
	reported map[string]int64
}

func (r *recordingEngine) Ledger() *inventory.Ledger { return r.l }

func (r *recordingEngine) SetReported(_ context.Context, ch, sku string, q int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reported[ch+"/"+sku] = q
	return nil
}

func TestSeedThenCheckFindsDrift(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	f := StartFakes(0, AmazonPublished)
	defer f.Close()
	cfg, err := Config(f, ConfigOptions{RedisAddr: "127.0.0.1:6379", KeyPrefix: prefix, Listen: "127.0.0.1:9999", AdminToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	eng := &recordingEngine{l: inventory.New(rdb, inventory.Options{Prefix: prefix}), reported: map[string]int64{}}
	cat := NewCatalog(40, 7)
	if err := Seed(ctx, eng, f, cfg, cat); err != nil {
		t.Fatal(err)
	}
	if len(eng.reported) != 40*len(ChannelNames()) {
		t.Fatalf("%d reported quantities, want %d", len(eng.reported), 40*len(ChannelNames()))
	}
	it := cat.Items[3]
	if got := eng.reported[Ebay+"/"+it.SKU]; got != it.Warehouse+it.Store {
		t.Fatalf("reported %d for %s, want %d", got, it.SKU, it.Warehouse+it.Store)
	}
	c, err := Check(ctx, eng.l, cfg, f, cat.SKUs())
	if err != nil {
		t.Fatal(err)
	}
	if !c.Converged() || c.Matching != 40 {
		t.Fatalf("after seeding: %+v, want 40/40", c)
	}
	amz(f).SetListing(it.SKU, it.Warehouse+it.Store+5) // someone edits a listing
	c, err = Check(ctx, eng.l, cfg, f, cat.SKUs())
	if err != nil {
		t.Fatal(err)
	}
	if c.Converged() || c.Matching != 39 || len(c.Sample) != 1 || c.Sample[0].SKU != it.SKU || c.Sample[0].Channel != Amazon {
		t.Fatalf("after the edit: %+v, want 39/40 with %s on amazon", c, it.SKU)
	}
}

// TestGeneratorSellsOnTheFakesAndDeliversSigned: every unit the generator
// sells comes off its fake's listing, every Shopify webhook carries a
// valid signature and every eBay one a signature header, every other
// webhook channel's deliveries reach its own path (each fake's own tests
// check its signatures), every order of a webhook channel is notified, and
// Amazon's notifications land on its queue.
func TestGeneratorSellsOnTheFakesAndDeliversSigned(t *testing.T) {
	f := StartFakes(0, AmazonPublished)
	defer f.Close()
	cat := NewCatalog(30, 3)
	initial := map[string]int64{}
	for _, it := range cat.Items {
		for _, ch := range ChannelNames() {
			f.list(ch, it.SKU, it.Warehouse+it.Store)
			initial[ch] += it.Warehouse + it.Store
		}
	}
	var mu sync.Mutex
	got := map[string]int{}
	bad := 0
	secret := shop(f).Options().WebhookSecret
	daemon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/"+Shopify):
			m := hmac.New(sha256.New, []byte(secret))
			m.Write(body)
			if r.Header.Get("X-Shopify-Hmac-Sha256") != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
				bad++
			}
			got[Shopify]++
		case strings.HasSuffix(r.URL.Path, "/"+Ebay):
			if r.Header.Get("X-EBAY-SIGNATURE") == "" {
				bad++
			}
			got[Ebay]++
		case slices.Contains(ChannelNames(), path.Base(r.URL.Path)) && path.Base(r.URL.Path) != Amazon:
			got[path.Base(r.URL.Path)]++
		default:
			bad++
		}
	}))
	defer daemon.Close()
	g := NewGenerator(f, cat, GeneratorOptions{Rate: 200, Target: daemon.URL, Seed: 5, Logger: zerolog.Nop()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Run(ctx)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c := g.Counts()
		if !slices.ContainsFunc(ChannelNames(), func(ch string) bool { return c[ch].Orders < 5 }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the generator placed too few orders: %+v", c)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	counts := g.Counts()
	for _, ch := range ChannelNames() {
		var listed int64
		for _, it := range cat.Items {
			q, _ := f.Listed(ch, it.SKU)
			listed += q
		}
		if sold := initial[ch] - listed; sold != counts[ch].Units {
			t.Errorf("%s: listings fell by %d units, the generator sold %d", ch, sold, counts[ch].Units)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if bad != 0 {
		t.Fatalf("%d deliveries badly signed or misdirected", bad)
	}
	for _, ch := range ChannelNames() {
		if ch != Amazon && int64(got[ch]) < counts[ch].Orders {
			t.Fatalf("deliveries %v for orders %+v: some %s orders were never notified", got, counts, ch)
		}
	}
	if total, _ := amz(f).QueueDepth(); int64(total) < counts[Amazon].Orders {
		t.Fatalf("amazon queue holds %d notifications for %d orders", total, counts[Amazon].Orders)
	}
}
