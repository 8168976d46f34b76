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
	opPatchListingsItem  = "patchListingsItem"
	opGetListingsItem    = "getListingsItem"
	opSearchListings     = "searchListingsItems"
	opCreateFeedDocument = "createFeedDocument"
	opCreateFeed         = "createFeed"
	opGetFeed            = "getFeed"
	opGetFeedDocument    = "getFeedDocument"
)

// opLimit is an operation's default usage plan: requests per second and burst.
type opLimit struct {
	Rate  float64
	Burst int
}

// publishedLimits are Amazon's default usage plans per operation (Orders v0,
// Listings Items 2021-08-01 and Feeds 2021-06-30 reference pages). Sellers
// with a larger plan get it told through x-amzn-RateLimit-Limit.
var publishedLimits = map[string]opLimit{
	opGetOrders:          {0.0167, 20},
	opGetOrder:           {0.5, 30},
	opGetOrderItems:      {0.5, 30},
	opPatchListingsItem:  {5, 5},
	opGetListingsItem:    {5, 10},
	opSearchListings:     {5, 5},
	opCreateFeedDocument: {0.5, 15},
	opCreateFeed:         {0.0083, 15},
	opGetFeed:            {2, 15},
	opGetFeedDocument:    {0.0222, 10},
}

// feedsPerWindow: Amazon processes at most 5 JSON_LISTINGS_FEED submissions
// per 5 minutes per seller and region; a bucket of 5 refilled one a minute
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

func newLimiters(plans map[string]opLimit, feed *rate.Limiter) *limiters {
	l := &limiters{ops: make(map[string]*rate.Limiter, len(plans)), feed: feed, adapt: true}
	for op, p := range plans {
		l.ops[op] = rate.NewLimiter(rate.Limit(p.Rate), p.Burst)
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

// observe retunes op's limiter to the rate Amazon reports it applied.
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
	if lim.Limit() != rate.Limit(v) {
		lim.SetLimit(rate.Limit(v))
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
