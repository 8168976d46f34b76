package amazontest

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a usage plan of one operation: a token bucket refilled at Rate
// requests a second and holding at most Burst.
type Limit struct {
	Rate  float64
	Burst int
}

// FeedTypeListings names the per-feed-type limit of JSON_LISTINGS_FEED in
// Options.RateLimits and Options.Bursts: it applies to createFeed calls of
// that type on top of createFeed's own plan.
const FeedTypeListings = "JSON_LISTINGS_FEED"

// published are Amazon's default usage plans, from the "Usage Plan" table
// of each operation in Amazon's models (github.com/amzn/
// selling-partner-api-models: models/orders-api-model/ordersV0.json and
// orders_2026-01-01.json, models/listings-items-api-model/
// listingsItems_2021-08-01.json, models/feeds-api-model/
// feeds_2021-06-30.json, models/reports-api-model/reports_2021-06-30.json),
// and for JSON_LISTINGS_FEED "five feed
// submissions per five minutes" per region (SP-API changelog, "Feed size
// and rate limit changes for the JSON_LISTINGS_FEED", 2025-05-06).
var published = map[string]Limit{
	"getOrders":           {0.0167, 20},
	"getOrder":            {0.5, 30},
	"getOrderItems":       {0.5, 30},
	"searchOrders":        {0.0056, 20},
	"getOrder_2026-01-01": {0.5, 30},
	"patchListingsItem":   {5, 5},
	"getListingsItem":     {5, 10},
	"searchListingsItems": {5, 5},
	"createFeedDocument":  {0.5, 15},
	"createFeed":          {0.0083, 15},
	"getFeed":             {2, 15},
	"getFeedDocument":     {0.0222, 10},
	"confirmShipment":     {2, 10},
	"createReport":        {0.0167, 15},
	"getReport":           {2, 15},
	"getReportDocument":   {0.0167, 15},
	FeedTypeListings:      {5.0 / 300, 5},
}

// PublishedLimits returns Amazon's default usage plan of every operation
// the fake serves (a copy): what the fake enforces and announces unless
// Options.RateLimits raises it.
func PublishedLimits() map[string]Limit {
	out := make(map[string]Limit, len(published))
	for op, l := range published {
		out[op] = l
	}
	return out
}

// plan is the usage plan in effect for op: published, with Options'
// overrides. A raised rate without its own burst gets a bucket of at least
// one second of it, so a raised plan is never narrower than the default.
func (o *Options) plan(op string) Limit {
	l, ok := published[op]
	if !ok {
		l = Limit{Rate: math.Inf(1), Burst: 1}
	}
	if r, ok := o.RateLimits[op]; ok && r > 0 {
		l.Rate = r
		l.Burst = max(l.Burst, int(math.Ceil(r)))
	}
	if b, ok := o.Bursts[op]; ok && b > 0 {
		l.Burst = b
	}
	return l
}

// Plan is the usage plan the fake enforces and announces for op.
func (s *Server) Plan(op string) Limit { return s.opts.plan(op) }

// buckets are the fake's token buckets, one per operation (and feed type),
// on the wall clock: Options.Now is the business clock (token expiry, the
// two-minute rule) and tests freeze it; request pacing is real time.
type buckets struct {
	ops map[string]*rate.Limiter
}

func newBuckets(o *Options) *buckets {
	b := &buckets{ops: map[string]*rate.Limiter{}}
	for op := range published {
		l := o.plan(op)
		b.ops[op] = rate.NewLimiter(rate.Limit(l.Rate), l.Burst)
	}
	return b
}

// allow takes a token of op's bucket, reporting whether there was one.
// An operation without a plan is not limited.
func (b *buckets) allow(op string) bool {
	lim, ok := b.ops[op]
	return !ok || lim.AllowN(time.Now(), 1)
}

// setRateHeader announces op's rate the way SP-API does.
func (s *Server) setRateHeader(w http.ResponseWriter, op string) {
	w.Header().Set("x-amzn-RateLimit-Limit", strconv.FormatFloat(s.opts.plan(op).Rate, 'f', -1, 64))
}

// writeQuotaExceeded is SP-API's 429 (the ErrorList of every operation's
// 429 response in the models).
func writeQuotaExceeded(w http.ResponseWriter) {
	writeErrors(w, http.StatusTooManyRequests, "QuotaExceeded", "You exceeded your quota for the requested resource.")
}
