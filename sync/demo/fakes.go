package demo

import (
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// The demo's channel names: one channel of each kind, named after it.
const (
	Shopify = "shopify"
	Ebay    = "ebay"
	Amazon  = "amazon"
)

// ChannelNames lists the demo's channels in the order the output shows them.
func ChannelNames() []string { return []string{Shopify, Ebay, Amazon} }

// Fakes are the three running fake marketplaces.
type Fakes struct {
	Shopify    *shopifytest.Server
	Ebay       *ebaytest.Server
	Amazon     *amazontest.Server
	latency    time.Duration
	amazonPlan AmazonPlan
}

// AmazonPlan is the usage plan the fake Amazon enforces (and announces in
// x-amzn-RateLimit-Limit): `shelfsync demo --amazon-plan`.
type AmazonPlan string

// The Amazon plans of the demo.
const (
	// AmazonPublished is Amazon's published default plan of every
	// operation (amazontest.PublishedLimits): what a new seller gets, and
	// what the connector must work at. The default.
	AmazonPublished AmazonPlan = "published"
	// AmazonRaised is a large seller's raised plan (AmazonRateLimits), the
	// plan the demo ran at before the fake enforced plans: for load runs
	// at rates the published plan can not carry.
	AmazonRaised AmazonPlan = "raised"
)

// AmazonPlans lists the plans --amazon-plan takes.
var AmazonPlans = []AmazonPlan{AmazonPublished, AmazonRaised}

// ParseAmazonPlan reads an --amazon-plan value ("" is published).
func ParseAmazonPlan(s string) (AmazonPlan, error) {
	switch p := AmazonPlan(s); p {
	case "":
		return AmazonPublished, nil
	case AmazonPublished, AmazonRaised:
		return p, nil
	}
	return "", fmt.Errorf("unknown Amazon plan %q: want %s or %s", s, AmazonPublished, AmazonRaised)
}

// rateLimits is the fake's amazontest.Options.RateLimits for the plan:
// none (the published defaults) or AmazonRateLimits.
func (p AmazonPlan) rateLimits() map[string]float64 {
	if p == AmazonRaised {
		return AmazonRateLimits()
	}
	return nil
}

// AmazonRateLimits is the raised plan (requests a second, per operation;
// the rest stay at Amazon's published plan). Amazon's published defaults
// (getOrder and getOrderItems 0.5/s, patchListingsItem 5/s) would let a
// channel that fetches every order take one order every two seconds; these
// are what a seller with a raised plan gets: realistic in kind (the fake
// enforces them, the connector adapts and waits exactly as against
// Amazon), workable at any demo rate. A patch sets one SKU, and at 100
// orders/s every channel sees about 100 changed SKUs a second, so the
// patch plan is twice that: the demo then shows the daemon's latency, not
// a saturated channel. Feeds keep Amazon's own limits (5 JSON_LISTINGS_FEED
// per 5 minutes), which is why the demo's Amazon channel pushes below the
// feed threshold.
func AmazonRateLimits() map[string]float64 {
	return map[string]float64{
		"getOrders": 1, "getOrder": 50, "getOrderItems": 50,
		"searchOrders": 1, "getOrder_2026-01-01": 50,
		"patchListingsItem": 200, "getListingsItem": 100, "searchListingsItems": 100,
	}
}

// Shopify's GraphQL cost bucket of a Shopify Plus store: 1000 points a
// second (shopify.dev, "GraphQL Admin API rate limits"), a bucket of ten
// seconds of it. A store taking tens of orders a second is on Plus; the
// standard plan's 100 points a second is used up by one order poll.
const (
	shopifyPlusRestore = 1000
	shopifyPlusBucket  = 10000
)

// StartFakes starts the three fakes, each answering after latency, the
// fake Amazon at plan ("" is published).
func StartFakes(latency time.Duration, plan AmazonPlan) *Fakes {
	if plan == "" {
		plan = AmazonPublished
	}
	return &Fakes{
		Shopify: shopifytest.New(shopifytest.Options{
			Latency: latency, BucketSize: shopifyPlusBucket, RestoreRate: shopifyPlusRestore,
		}),
		Ebay: ebaytest.New(ebaytest.Options{Latency: latency}),
		Amazon: amazontest.New(amazontest.Options{
			Latency: latency, RateLimits: plan.rateLimits(),
			// A message the connector received but could not hand on is
			// seen again soon, as with a short SQS visibility timeout.
			VisibilityTimeout: 10 * time.Second,
		}),
		latency:    latency,
		amazonPlan: plan,
	}
}

// AmazonDrain is the longest the Amazon channel can take to push what is
// waiting when the orders stop: every one of skus once (pushes coalesce
// per SKU), one patchListingsItem call each, at the fake's plan (the
// connector paces at 90% of it). At the published 5 a second that is a
// minute for 270 SKUs; at the raised plan a second or two.
func (f *Fakes) AmazonDrain(skus int) time.Duration {
	perSecond := f.Amazon.Plan("patchListingsItem").Rate * 0.9
	if perSecond <= 0 {
		return 0
	}
	return time.Duration(float64(skus) / perSecond * float64(time.Second)).Round(time.Second)
}

// Latency is the API latency the fakes were started with.
func (f *Fakes) Latency() time.Duration { return f.latency }

// AmazonPlan is the plan the fake Amazon holds.
func (f *Fakes) AmazonPlan() AmazonPlan { return f.amazonPlan }

// Close stops the fakes.
func (f *Fakes) Close() {
	f.Shopify.Close()
	f.Ebay.Close()
	f.Amazon.Close()
}

// Listed is the quantity channel lists for sku on its fake, and whether
// the listing exists.
func (f *Fakes) Listed(channel, sku string) (int64, bool) {
	switch channel {
	case Shopify:
		return f.Shopify.LevelOK(sku)
	case Ebay:
		return f.Ebay.Quantity(sku)
	case Amazon:
		return f.Amazon.Quantity(sku)
	}
	return 0, false
}
