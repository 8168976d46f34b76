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
)

const publicKeyPath = "/commerce/notification/v1/public_key/"

// errUnknownKey: eBay does not know the signature's kid (a forged or
// mangled header), unlike a failure to ask, which eBay should retry.
var errUnknownKey = errors.New("unknown public key id")

// publicKey is a parsed getPublicKey answer.
type publicKey struct {
	key     *ecdsa.PublicKey
	digest  string // what eBay says the key signs with, for the log
	fetched time.Time
}

// keyCache keeps public keys by kid for ttl (eBay asks for about an hour
// rather than a fetch per notification), and lets one fetch per kid run
// at a time however many deliveries wait for it.
type keyCache struct {
	ttl   time.Duration
	now   func() time.Time
	group singleflight.Group

	mu   sync.Mutex
	keys map[string]publicKey
}

func newKeyCache(ttl time.Duration, now func() time.Time) *keyCache {
	return &keyCache{ttl: ttl, now: now, keys: map[string]publicKey{}}
}

// publicKey returns the key for kid, from the cache or from eBay.
func (c *Connector) publicKey(ctx context.Context, kid string) (publicKey, error) {
	kc := c.keys
	kc.mu.Lock()
	k, ok := kc.keys[kid]
	kc.mu.Unlock()
	if ok && kc.now().Sub(k.fetched) < kc.ttl {
		return k, nil
	}
	v, err, _ := kc.group.Do(kid, func() (any, error) {
		k, err := c.fetchPublicKey(ctx, kid)
		if err != nil {
			return publicKey{}, err
		}
		kc.mu.Lock()
		kc.keys[kid] = k
		kc.mu.Unlock()
		return k, nil
	})
	if err != nil {
		return publicKey{}, err
	}
	return v.(publicKey), nil
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
