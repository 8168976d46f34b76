package ebay

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

const publicKeyPath = "/commerce/notification/v1/public_key/"

// Defaults of the public-key cache and its fetch budget (Options).
const (
	// DefaultUnknownKeyTTL is how long a kid eBay does not know (404) is
	// answered 412 without asking eBay again.
	DefaultUnknownKeyTTL = 10 * time.Minute
	// DefaultFailedKeyTTL is how long after eBay failed to hand out a key
	// (5xx, transport, an unreadable answer) the kid is not asked again.
	DefaultFailedKeyTTL = time.Minute
	// DefaultKeyFetchesPerMinute and DefaultKeyFetchBurst bound the key
	// fetches of one connector: a token bucket of 6, refilled at 6 a
	// minute. eBay signs with a handful of keys at most and a key is
	// cached an hour, so genuine deliveries need a fetch an hour or so.
	DefaultKeyFetchesPerMinute = 6
	DefaultKeyFetchBurst       = 6
	// maxStaleKey is how long past its TTL a known key still verifies
	// while it can not be fetched again (eBay failing, budget spent). A
	// kid names one key for good; the TTL is only there to notice a
	// revocation, which eBay answering 404 does at once.
	maxStaleKey = 24 * time.Hour
	// keyFetchTimeout bounds one fetch (application token, key, a retry).
	keyFetchTimeout = 10 * time.Second
)

// errUnknownKey: eBay does not know the signature's kid (a forged or
// mangled header), unlike a failure to ask, which eBay should retry.
var errUnknownKey = errors.New("unknown public key id")

// errKeyBudget: the kid is not known here and the key-fetch budget is
// spent: the delivery can not be verified now (503, eBay delivers again).
var errKeyBudget = errors.New("public key fetch budget spent; the kid can not be checked now")

// errFetchAbandoned: the delivery whose fetch others waited on went away.
var errFetchAbandoned = errors.New("public key fetch abandoned by its delivery")

// publicKey is a parsed getPublicKey answer.
type publicKey struct {
	key     *ecdsa.PublicKey
	digest  string // what eBay says the key signs with, for the log
	fetched time.Time
}

// keyMiss is a kid eBay did not hand a key for, remembered until until.
type keyMiss struct {
	err   error // wraps errUnknownKey, or is the failure
	until time.Time
}

// keyCache keeps public keys by kid for ttl (eBay asks for about an hour
// rather than a fetch per notification), remembers kids eBay does not
// know (unknownTTL) or failed to answer for (failedTTL), lets one fetch
// per kid run at a time however many deliveries wait for it, and bounds
// fetches by a token bucket of their own: never the channel's limiter,
// which paces pushes and polls.
type keyCache struct {
	ttl, unknownTTL, failedTTL time.Duration
	limiter                    *rate.Limiter
	group                      singleflight.Group

	mu     sync.Mutex
	keys   map[string]publicKey
	misses map[string]keyMiss
}

func newKeyCache(opts Options) *keyCache {
	return &keyCache{
		ttl: opts.KeyTTL, unknownTTL: opts.UnknownKeyTTL, failedTTL: opts.FailedKeyTTL,
		limiter: rate.NewLimiter(rate.Limit(float64(opts.KeyFetchesPerMinute)/60), opts.KeyFetchBurst),
		keys:    map[string]publicKey{}, misses: map[string]keyMiss{},
	}
}

// cached answers from memory: a fresh key; a stale one while a failure
// is remembered; or a remembered miss. ok is false when eBay must be asked.
func (kc *keyCache) cached(kid string, now time.Time) (k publicKey, result string, err error, ok bool) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	k, has := kc.keys[kid]
	if has && now.Sub(k.fetched) < kc.ttl {
		return k, "cached", nil, true
	}
	m, missed := kc.misses[kid]
	if !missed || !now.Before(m.until) {
		return publicKey{}, "", nil, false
	}
	if errors.Is(m.err, errUnknownKey) {
		return publicKey{}, "unknown", m.err, true
	}
	if has && now.Sub(k.fetched) < kc.ttl+maxStaleKey {
		return k, "stale", nil, true
	}
	return publicKey{}, "failed", m.err, true
}

// stale is a known key past its TTL that may still verify.
func (kc *keyCache) stale(kid string, now time.Time) (publicKey, bool) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	k, ok := kc.keys[kid]
	return k, ok && now.Sub(k.fetched) < kc.ttl+maxStaleKey
}

// store records a fetch's outcome and forgets what has expired (both maps
// only grow by fetches, which the budget bounds).
func (kc *keyCache) store(kid string, k publicKey, err error, now time.Time) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	switch {
	case err == nil:
		kc.keys[kid] = k
		delete(kc.misses, kid)
	case errors.Is(err, errUnknownKey):
		delete(kc.keys, kid) // eBay no longer hands it out: revoked
		kc.misses[kid] = keyMiss{err: err, until: now.Add(kc.unknownTTL)}
	default:
		kc.misses[kid] = keyMiss{err: err, until: now.Add(kc.failedTTL)}
	}
	for id, m := range kc.misses {
		if !now.Before(m.until) {
			delete(kc.misses, id)
		}
	}
	for id, pk := range kc.keys {
		if now.Sub(pk.fetched) >= kc.ttl+maxStaleKey {
			delete(kc.keys, id)
		}
	}
}

// publicKey returns the key for kid, from the cache or from eBay. Errors:
// errUnknownKey (wrapped) when eBay does not know the kid, errKeyBudget
// when it would need a fetch the budget has no room for, the context's
// error when the delivery goes away, else the failure to fetch.
//
// The fetch runs on the context of the delivery that started it (so no
// goroutine outlives it by more than the fetch's own unwinding); should
// that delivery go away, the deliveries waiting for the same kid start
// another fetch, and the abandoned one is not remembered as a failure.
func (c *Connector) publicKey(ctx context.Context, kid string) (publicKey, error) {
	kc := c.keys
	if k, result, err, ok := kc.cached(kid, c.deps.Now()); ok {
		c.metrics.keyLookups.WithLabelValues(result).Inc()
		return k, err
	}
	type outcome struct {
		key    publicKey
		result string
	}
	fetch := func() (any, error) {
		now := c.deps.Now()
		// A fetch that ended just before this one started answers it.
		if k, result, err, ok := kc.cached(kid, now); ok {
			return outcome{k, result}, err
		}
		stale, hasStale := kc.stale(kid, now)
		if !kc.limiter.AllowN(now, 1) {
			if hasStale {
				return outcome{stale, "stale"}, nil
			}
			return outcome{result: "limited"}, errKeyBudget
		}
		fctx, cancel := context.WithTimeout(ctx, keyFetchTimeout)
		defer cancel()
		k, err := c.fetchPublicKey(fctx, kid)
		if err != nil && ctx.Err() != nil {
			return outcome{}, fmt.Errorf("%w: %w", errFetchAbandoned, ctx.Err())
		}
		kc.store(kid, k, err, now)
		switch {
		case err == nil:
			return outcome{k, "fetched"}, nil
		case errors.Is(err, errUnknownKey):
			return outcome{result: "unknown"}, err
		case hasStale:
			c.log.Warn().Err(err).Str("kid", kid).Msg("eBay public key not refreshed; the known key still verifies")
			return outcome{stale, "stale"}, nil
		}
		return outcome{result: "failed"}, err
	}
	for attempt := 0; ; attempt++ {
		select {
		case <-ctx.Done():
			return publicKey{}, ctx.Err()
		case r := <-kc.group.DoChan(kid, fetch):
			if errors.Is(r.Err, errFetchAbandoned) && ctx.Err() == nil && attempt < 3 {
				continue // another delivery's fetch, abandoned: fetch again
			}
			o, _ := r.Val.(outcome)
			if o.result != "" {
				c.metrics.keyLookups.WithLabelValues(o.result).Inc()
			}
			return o.key, r.Err
		}
	}
}

func (c *Connector) fetchPublicKey(ctx context.Context, kid string) (publicKey, error) {
	c.metrics.keyFetches.Inc()
	resp, err := c.send(ctx, http.MethodGet, publicKeyPath+url.PathEscape(kid), nil, nil, true)
	if err != nil {
		return publicKey{}, fmt.Errorf("fetching eBay public key %s: %w", kid, err)
	}
	if resp.status == http.StatusNotFound {
		return publicKey{}, fmt.Errorf("eBay public key %s: %w", kid, errUnknownKey)
	}
	if resp.status != http.StatusOK {
		return publicKey{}, fmt.Errorf("fetching eBay public key %s: %w", kid, newAPIError("GET "+publicKeyPath+"{kid}", resp))
	}
	k, err := parsePublicKey(resp.body)
	if err != nil {
		return publicKey{}, fmt.Errorf("eBay public key %s: %w", kid, err)
	}
	k.fetched = c.deps.Now()
	return k, nil
}

// parsePublicKey reads a getPublicKey answer {key, algorithm, digest}.
// eBay sends the key PEM-armoured but on one line
// ("-----BEGIN PUBLIC KEY-----MFkw...==-----END PUBLIC KEY-----"), which
// encoding/pem refuses, so the armour is cut off and the base64 between
// decoded as the DER SubjectPublicKeyInfo it is. Line breaks, if eBay
// ever sends them, are dropped first.
func parsePublicKey(data []byte) (publicKey, error) {
	var r struct {
		Key       string `json:"key"`
		Algorithm string `json:"algorithm"`
		Digest    string `json:"digest"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return publicKey{}, fmt.Errorf("decoding the answer: %w", err)
	}
	if !strings.EqualFold(r.Algorithm, "ECDSA") {
		return publicKey{}, fmt.Errorf("algorithm %q, want ECDSA", r.Algorithm)
	}
	b64 := strings.TrimSpace(r.Key)
	b64 = strings.TrimPrefix(b64, "-----BEGIN PUBLIC KEY-----")
	b64 = strings.TrimSuffix(b64, "-----END PUBLIC KEY-----")
	b64 = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, b64)
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return publicKey{}, fmt.Errorf("key is not base64 DER: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return publicKey{}, fmt.Errorf("parsing the key: %w", err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return publicKey{}, fmt.Errorf("key is a %T, want ECDSA", pub)
	}
	return publicKey{key: ec, digest: r.Digest}, nil
}
