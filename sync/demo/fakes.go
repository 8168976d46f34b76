package demo

import (
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
	Shopify *shopifytest.Server
	Ebay    *ebaytest.Server
	Amazon  *amazontest.Server
	latency time.Duration
}

// AmazonRateLimits are the usage plans the fake Amazon announces in
// x-amzn-RateLimit-Limit (the connector paces itself to them). Amazon's
// published defaults (getOrder and getOrderItems 0.5/s, patchListingsItem
// 5/s) would let the demo's Amazon channel take one order every two
// seconds; these are what a seller with a raised plan gets: realistic in
// kind (the connector adapts and waits exactly as against Amazon), workable
// at the demo's rates. A patch sets one SKU, and at 100 orders/s every
// channel sees about 100 changed SKUs a second, so the patch plan is twice
// that: the demo then shows the daemon's latency, not a saturated channel.
// Feeds keep Amazon's own limit (5 per 5 minutes), which is why the demo's
// Amazon channel pushes below the feed threshold.
func AmazonRateLimits() map[string]float64 {
	return map[string]float64{
		"getOrders": 1, "getOrder": 50, "getOrderItems": 50,
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

// StartFakes starts the three fakes, each answering after latency.
func StartFakes(latency time.Duration) *Fakes {
	return &Fakes{
		Shopify: shopifytest.New(shopifytest.Options{
			Latency: latency, BucketSize: shopifyPlusBucket, RestoreRate: shopifyPlusRestore,
		}),
		Ebay: ebaytest.New(ebaytest.Options{Latency: latency}),
		Amazon: amazontest.New(amazontest.Options{
			Latency: latency, RateLimits: AmazonRateLimits(),
			// A message the connector received but could not hand on is
			// seen again soon, as with a short SQS visibility timeout.
			VisibilityTimeout: 10 * time.Second,
		}),
		latency: latency,
	}
}

// Latency is the API latency the fakes were started with.
func (f *Fakes) Latency() time.Duration { return f.latency }

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
