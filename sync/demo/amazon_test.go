package demo

import (
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/amazon"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// TestAmazonPlans: --amazon-plan picks the fake Amazon's usage plan:
// Amazon's published defaults (the default), or the raised plan the demo
// ran at before the fake enforced plans.
func TestAmazonPlans(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  AmazonPlan
		patch amazontest.Limit
		order amazontest.Limit
	}{
		{"", AmazonPublished, amazontest.Limit{Rate: 5, Burst: 5}, amazontest.Limit{Rate: 0.5, Burst: 30}},
		{"published", AmazonPublished, amazontest.Limit{Rate: 5, Burst: 5}, amazontest.Limit{Rate: 0.5, Burst: 30}},
		{"raised", AmazonRaised, amazontest.Limit{Rate: 200, Burst: 200}, amazontest.Limit{Rate: 50, Burst: 50}},
	} {
		p, err := ParseAmazonPlan(tc.in)
		if err != nil || p != tc.want {
			t.Fatalf("ParseAmazonPlan(%q) = %q, %v; want %q", tc.in, p, err, tc.want)
		}
		f := StartFakes(0, p)
		if got := amz(f).Plan("patchListingsItem"); got != tc.patch {
			t.Errorf("%s: patchListingsItem %+v, want %+v", p, got, tc.patch)
		}
		if got := amz(f).Plan("getOrder_2026-01-01"); got != tc.order {
			t.Errorf("%s: getOrder %+v, want %+v", p, got, tc.order)
		}
		if got := amz(f).Plan(amazontest.FeedTypeListings); got != (amazontest.Limit{Rate: 5.0 / 300, Burst: 5}) {
			t.Errorf("%s: JSON_LISTINGS_FEED %+v, want Amazon's 5 per 5 minutes", p, got)
		}
		if f.AmazonPlan() != p {
			t.Errorf("AmazonPlan %q, want %q", f.AmazonPlan(), p)
		}
		// 200 SKUs at 90% of the patch plan.
		if d, want := f.Drain(200), time.Duration(200/(tc.patch.Rate*0.9)*float64(time.Second)).Round(time.Second); d != want {
			t.Errorf("%s: drain of 200 SKUs %s, want %s", p, d, want)
		}
		f.Close()
	}
	if _, err := ParseAmazonPlan("unlimited"); err == nil {
		t.Error("an unknown plan was taken")
	}
}

// TestAmazonNotificationCarriesTheOrder: the demo's ORDER_CHANGE is the
// order's state, as Amazon's OrderLevel notification is: the connector
// takes the sale and its cancel without an SP-API call.
func TestAmazonNotificationCarriesTheOrder(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123000000, time.UTC)
	o := amazontest.Order{AmazonOrderID: "113-0010000-0000001", Status: "Unshipped", LastUpdate: at, Created: at,
		FulfillmentChannel: "MFN", MarketplaceID: amazontest.DefaultMarketplace,
		Items: []amazontest.Item{{OrderItemID: "00100000000001", SellerSKU: "SKU-7", Ordered: 3}}}
	for _, tc := range []struct {
		status    string
		open      int64
		cancelled int64
	}{{"Unshipped", 3, 0}, {"Canceled", 0, 3}} {
		o.Status = tc.status
		body, err := amazontest.OrderChangeNotification("n-"+tc.status, o, "OrderStatusChange")
		if err != nil {
			t.Fatal(err)
		}
		events, err := amazon.ParseNotification(Amazon, body, at)
		if err != nil || len(events) != 1 {
			t.Fatalf("%s: %+v, %v", tc.status, events, err)
		}
		ev := events[0]
		if ev.Kind != connectors.EventOrder || ev.ID != "n-"+tc.status || ev.Order == nil {
			t.Fatalf("%s: %+v, want the order's state", tc.status, ev)
		}
		l := ev.Order.Lines
		if len(l) != 1 || l[0].SKU != "SKU-7" || l[0].Open() != tc.open || l[0].Cancelled != tc.cancelled || !ev.Order.UpdatedAt.Equal(at) {
			t.Fatalf("%s: %+v", tc.status, ev.Order)
		}
	}
}

// The demo's channel names the tests name; the others are taken from
// ChannelNames.
const (
	Shopify = "shopify"
	Ebay    = "ebay"
	Amazon  = "amazon"
)

func amz(f *Fakes) *amazontest.Server   { return f.Channel(Amazon).(*amazontest.Sim).Server }
func shop(f *Fakes) *shopifytest.Server { return f.Channel(Shopify).(*shopifytest.Sim).Server }
func eb(f *Fakes) *ebaytest.Server      { return f.Channel(Ebay).(*ebaytest.Sim).Server }
