package amazon

import (
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/time/rate"
)

// The SP-API operations this connector calls. They name the limiters, the
// fake server's counters and the metric labels.
const (
	opGetOrders          = "getOrders"
	opGetOrder           = "getOrder"
	opGetOrderItems      = "getOrderItems"
	opSearchOrders       = "searchOrders"
	opGetOrder2026       = "getOrder_2026-01-01" // v2026-01-01's getOrder: a plan of its own
	opPatchListingsItem  = "patchListingsItem"
	opGetListingsItem    = "getListingsItem"
	opSearchListings     = "searchListingsItems"
	opCreateFeedDocument = "createFeedDocument"
	opCreateFeed         = "createFeed"
	opGetFeed            = "getFeed"
	opGetFeedDocument    = "getFeedDocument"
	opConfirmShipment    = "confirmShipment"
	opCreateReport       = "createReport"
	opGetReport          = "getReport"
	opGetReportDocument  = "getReportDocument"
)

// opLimit is an operation's default usage plan: requests per second and burst.
type opLimit struct {
	Rate  float64
	Burst int
}

// publishedLimits are Amazon's default usage plans per operation: the
// "Usage Plan" table of each operation in Amazon's models
// (github.com/amzn/selling-partner-api-models: models/orders-api-model/
// ordersV0.json and orders_2026-01-01.json, models/listings-items-api-model/
// listingsItems_2021-08-01.json, models/feeds-api-model/feeds_2021-06-30.json,
// models/reports-api-model/reports_2021-06-30.json;
// the same figures as the API reference pages). Sellers with a larger plan
// get it told through x-amzn-RateLimit-Limit.
var publishedLimits = map[string]opLimit{
	opGetOrders:          {0.0167, 20},
	opGetOrder:           {0.5, 30},
	opGetOrderItems:      {0.5, 30},
	opSearchOrders:       {0.0056, 20},
	opGetOrder2026:       {0.5, 30},
	opPatchListingsItem:  {5, 5},
	opGetListingsItem:    {5, 10},
	opSearchListings:     {5, 5},
	opCreateFeedDocument: {0.5, 15},
	opCreateFeed:         {0.0083, 15},
	opGetFeed:            {2, 15},
	opGetFeedDocument:    {0.0222, 10},
	// ordersV0.json, confirmShipment; reports_2021-06-30.json.
	opConfirmShipment:   {2, 10},
	opCreateReport:      {0.0167, 15},
	opGetReport:         {2, 15},
	opGetReportDocument: {0.0167, 15},
}

// feedsPerWindow: Amazon takes at most 5 JSON_LISTINGS_FEED submissions
// per 5 minutes per region (SP-API changelog, "Feed size and rate limit
// changes for the JSON_LISTINGS_FEED", 2025-05-06; createFeed's own plan,
// 0.0083/s burst 15, applies too); a bucket of 5 refilled one a minute
// keeps within it.
const (
	feedBurst = 5
	feedEvery = 60 // seconds per refilled feed
)

// limiters holds one token bucket per operation. rate.Limiter is safe for
// concurrent use, and the map is written only while the connector is built.
type limiters struct {
	ops  map[string]*rate.Limiter
	feed *rate.Limiter
	// adapt: retune a limiter to what Amazon answers in x-amzn-RateLimit-Limit.
	adapt bool
}

// paceMargin: each operation is paced at this share of its plan's rate,
// and one request short of its burst. Amazon's bucket fills and drains
// like the connector's, but requests reach it with the network's jitter,
// and the framework's retries of a 429 do not wait on the limiter: paced
// at exactly the plan, one early arrival starts a run of 429s, each retry
// taking the token the next request was paced for (amazontest's strict
// plan shows it: TestPushAtPublishedLimits). The margin absorbs both.
const paceMargin = 0.9

// paced is the limiter of a plan: its rate less the margin, its burst less one.
func paced(p opLimit) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(p.Rate*paceMargin), max(p.Burst-1, 1))
}

func newLimiters(plans map[string]opLimit, feed *rate.Limiter) *limiters {
	l := &limiters{ops: make(map[string]*rate.Limiter, len(plans)), feed: feed, adapt: true}
	for op, p := range plans {
		l.ops[op] = paced(p)
	}
	return l
}

// get returns op's limiter; an operation without a plan is not paced here
// (the framework's channel limiter still applies).
func (l *limiters) get(op string) *rate.Limiter {
	if lim, ok := l.ops[op]; ok {
		return lim
	}
	return rate.NewLimiter(rate.Inf, 1)
}

// observe retunes op's limiter to the rate Amazon reports it applied
// (less the margin).
// The header is absent on some errors and when Amazon has no value: then
// the current rate stays.
func (l *limiters) observe(op string, h http.Header) {
	if !l.adapt {
		return
	}
	v, ok := parseRateLimitHeader(h.Get("x-amzn-RateLimit-Limit"))
	if !ok {
		return
	}
	lim, found := l.ops[op]
	if !found {
		return
	}
	if want := rate.Limit(v * paceMargin); lim.Limit() != want {
		lim.SetLimit(want)
	}
}

// parseRateLimitHeader reads x-amzn-RateLimit-Limit: a decimal number of
// requests per second ("0.0167", "5.0").
func parseRateLimitHeader(v string) (float64, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0 && f <= 1e6) { // NaN fails both
		return 0, false
	}
	return f, true
}
