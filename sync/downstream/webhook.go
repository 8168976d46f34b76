package downstream

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/sync/stream"
)

// Signature headers of a downstream POST. The signature is
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)), so a
// receiver can verify the body and reject old replays. Kept for receivers
// written against it; new ones should verify the Standard Webhooks headers.
const (
	HeaderDelivery  = "X-Shelfsync-Delivery"
	HeaderTimestamp = "X-Shelfsync-Timestamp"
	HeaderSignature = "X-Shelfsync-Signature"
)

// The Standard Webhooks headers (https://www.standardwebhooks.com, spec
// 1.0.0, symmetric scheme) sent with every delivery beside the headers
// above, so a receiver can verify with one of its libraries:
// webhook-signature is "v1," + base64(HMAC-SHA256(key, id + "." +
// timestamp + "." + body)), webhook-timestamp integer Unix seconds of the
// attempt, webhook-id the same on every retry of a delivery.
const (
	HeaderStandardID        = "webhook-id"
	HeaderStandardTimestamp = "webhook-timestamp"
	HeaderStandardSignature = "webhook-signature"
)

// Sign computes the signature header value.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// StandardKey is the HMAC key of the Standard Webhooks signature made from
// downstream.webhook.secret. A secret in the spec's serialization,
// "whsec_" + base64(key), signs with the decoded key, as the libraries do
// with it; any other secret signs with its own bytes, and the receiver's
// library takes "whsec_" + base64(secret). A "whsec_" secret whose rest is
// not base64 (padded or not) is used as it is, whole.
func StandardKey(secret []byte) []byte {
	rest, ok := bytes.CutPrefix(secret, []byte("whsec_"))
	if !ok {
		return secret
	}
	key, err := base64.StdEncoding.DecodeString(string(rest))
	if err != nil { // the libraries take it unpadded too
		key, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(string(rest), "="))
	}
	if err != nil || len(key) == 0 {
		return secret
	}
	return key
}

// StandardID is the webhook-id of a delivery id: the spec wants no "." in
// it (the signed content is dot-separated), so "%" and "." are
// percent-encoded; other delivery ids are unchanged.
func StandardID(deliveryID string) string {
	return strings.NewReplacer("%", "%25", ".", "%2E").Replace(deliveryID)
}

// SignStandard computes the webhook-signature value: one "v1," signature.
func SignStandard(key []byte, id, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte("."))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Forwarder POSTs every message of the downstream stream to a URL, reading
// it with its own consumer group ("webhook") through sync/stream's
// consumer, one message at a time, in stream order. A message is
// acknowledged (never deleted: the ERP's own groups read the stream too)
// only after the receiver answered 2xx.
//
// What happens to a delivery that fails:
//
//   - The receiver unreachable or answering 5xx, 408, 429, or any 4xx not
//     listed below (401/403/404: a wrong secret or URL is a configuration
//     fault, not the message's): retried for ever, nothing is dropped. The
//     forwarder stops taking new messages, waits (1s, doubling up to 30s)
//     and retries the failed one and those after it, in order. The backlog
//     grows meanwhile (shelfsync_downstream_deliveries_total{outcome="failed"}).
//   - The receiver refusing this delivery (400, 409, 413, 422): the attempt
//     is counted and the message retried about once a minute, while the
//     messages after it go on; after 8 such answers it is dead-lettered to
//     <stream>:webhook:dead with the receiver's status and the start of
//     its answer (outcome="dead_lettered", DeadLetters), and never sent
//     again by the forwarder. It stays on the stream for the ERP's own
//     consumer groups; the next version of the order is delivered as usual.
//   - A message trimmed off the stream (downstream.stream_max_len) before
//     it was delivered is dropped and counted (outcome="trimmed").
//
// If Redis lost the stream or the group (a flush, a failover to an empty
// replica), the group is made again from the start of the stream and
// delivery goes on without a restart: what is still on the stream is
// delivered again (the receiver de-duplicates on the delivery id).
type Forwarder struct {
	c       *stream.Set
	url     string
	secret  []byte
	key     []byte // StandardKey(secret)
	client  *http.Client
	log     zerolog.Logger
	results *prometheus.CounterVec
}

const (
	// claimIdle is how long a message stays with the replica that read it
	// before another may take it over: longer than a delivery with its
	// retries takes, so a message in flight is never delivered twice by two
	// replicas at once.
	claimIdle = time.Minute
	// refusedAttempts is how many refusals of one delivery are tried
	// before it is dead-lettered.
	refusedAttempts = 8
)

// NewForwarder builds a Forwarder of one stream; client should retry
// transient failures (connectors.NewHTTPClient). No I/O.
func NewForwarder(rdb redis.UniversalClient, streamKey, consumer, url string, secret []byte, client *http.Client, log zerolog.Logger, reg prometheus.Registerer) *Forwarder {
	return newForwarder(rdb, []string{streamKey}, "", consumer, url, secret, client, log, reg, nil)
}

// NewPublisherForwarder builds a Forwarder of every partition of p's
// stream (and of the single stream of before, while it exists: what is
// left on it is delivered too). Each partition has its own "webhook"
// group and dead letters, and delivers in its own order: one order's
// states are in one partition, in order. No I/O.
func NewPublisherForwarder(rdb redis.UniversalClient, p *Publisher, consumer, url string, secret []byte, client *http.Client, log zerolog.Logger, reg prometheus.Registerer) *Forwarder {
	return newForwarder(rdb, p.Streams(), p.Legacy(), consumer, url, secret, client, log, reg, nil)
}

// newForwarder is NewForwarder with the consumer's options tunable (tests).
func newForwarder(rdb redis.UniversalClient, streams []string, legacy, consumer, url string, secret []byte, client *http.Client, log zerolog.Logger, reg prometheus.Registerer, tune func(*stream.Options)) *Forwarder {
	f := &Forwarder{
		url: url, secret: secret, key: StandardKey(secret), client: client, log: log,
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_downstream_deliveries_total",
			Help: "Downstream HTTP deliveries by outcome (ok; failed: an attempt that failed, retried; dead_lettered: refused by the receiver too often; trimmed: gone from the stream before delivery).",
		}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(f.results)
	}
	for _, o := range []string{"ok", "failed", "dead_lettered", "trimmed"} { // exported at 0 from the start
		f.results.WithLabelValues(o)
	}
	set := stream.SetOptions{Partition: func(v map[string]any) int { return partitionOfEntry(v, len(streams)) }}
	for _, key := range streams {
		set.Partitions = append(set.Partitions, f.consumerOptions(key, consumer, tune))
	}
	if legacy != "" {
		o := f.consumerOptions(legacy, consumer, tune)
		set.Legacy = &o
	}
	f.c = stream.NewSet(rdb, set)
	return f
}

// consumerOptions are the "webhook" group's options on one stream.
func (f *Forwarder) consumerOptions(streamKey, consumer string, tune func(*stream.Options)) stream.Options {
	o := stream.Options{
		Stream: streamKey, Group: "webhook", Consumer: consumer,
		Dead: streamKey + ":webhook:dead", Attempts: streamKey + ":webhook:attempts", Reasons: streamKey + ":webhook:reasons",
		Workers: 1, Count: 16, Block: time.Second, ClaimIdle: claimIdle, MaxAttempts: refusedAttempts,
		KeepAcked: true, RetryBackoff: time.Second, MaxRetryBackoff: 30 * time.Second,
		Logger: f.log,
		Hooks: stream.Hooks{
			DeadLettered: func(stream.Message, string, int64) { f.results.WithLabelValues("dead_lettered").Inc() },
			Gone: func(id string) {
				f.results.WithLabelValues("trimmed").Inc()
				f.log.Error().Str("id", id).Msg("downstream message trimmed before delivery; raise downstream.stream_max_len")
			},
		},
	}
	if tune != nil {
		tune(&o)
	}
	return o
}

// partitionOfEntry is the partition of a stream entry: its channel and
// order id, or for a stock signal its SKU (as the Publisher chose).
func partitionOfEntry(v map[string]any, n int) int {
	str := func(k string) string { s, _ := v[k].(string); return s }
	if str("kind") == "signal" {
		return stream.PartitionOf("sku\x00"+str("sku"), n)
	}
	return stream.PartitionOf(str("channel")+"\x00"+str("order_id"), n)
}

// Run forwards until ctx ends. It fails only if the consumer group can not
// be made at the start.
func (f *Forwarder) Run(ctx context.Context) error {
	if err := f.c.Run(ctx, f.handle); err != nil {
		return fmt.Errorf("downstream forwarder: %w", err)
	}
	return nil
}

// DeadLetters lists up to n deliveries the receiver refused too often,
// newest first.
func (f *Forwarder) DeadLetters(ctx context.Context, n int64) ([]stream.DeadLetter, error) {
	return f.c.DeadLetters(ctx, n)
}

// handle delivers a batch in order. After a failure that is not the
// message's (see Forwarder) the rest is not tried: it is retried, in
// order, after the consumer's backoff.
func (f *Forwarder) handle(ctx context.Context, msgs []stream.Message) []error {
	errs := make([]error, len(msgs))
	var down error
	for i, m := range msgs {
		if down != nil {
			errs[i] = stream.Retry(fmt.Errorf("not tried after a failed delivery: %w", down))
			continue
		}
		err := f.deliver(ctx, m)
		if err == nil {
			f.results.WithLabelValues("ok").Inc()
			continue
		}
		f.results.WithLabelValues("failed").Inc()
		if ctx.Err() != nil {
			errs[i], down = err, err // shutting down: left pending
			continue
		}
		var de *deliveryError
		if errors.As(err, &de) && refused(de.code) {
			errs[i] = err // counted; dead-lettered after refusedAttempts
			continue
		}
		f.log.Warn().Err(err).Str("id", m.ID).Msg("downstream delivery failed; will retry")
		errs[i] = stream.Retry(err)
		down = err
	}
	return errs
}

// refused reports whether a status is the receiver refusing this delivery
// (rather than being down or misconfigured).
func refused(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// deliveryError is a receiver's answer outside 2xx.
type deliveryError struct {
	id     string
	status string
	code   int
	body   string // the start of the answer
}

func (e *deliveryError) Error() string {
	s := fmt.Sprintf("posting delivery %s: receiver answered %s", e.id, e.status)
	if e.body != "" {
		s += ": " + e.body
	}
	return s
}

func (f *Forwarder) deliver(ctx context.Context, m stream.Message) error {
	id := m.Field("delivery_id")
	body, err := deliveryBody(m)
	if err != nil {
		return stream.Refuse(fmt.Sprintf("encoding delivery %s: %v", id, err))
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building delivery: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderDelivery, id)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(f.secret, ts, body))
	sid := StandardID(id)
	req.Header.Set(HeaderStandardID, sid)
	req.Header.Set(HeaderStandardTimestamp, ts)
	req.Header.Set(HeaderStandardSignature, SignStandard(f.key, sid, ts, body))
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("posting delivery %s: %w", id, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return &deliveryError{id: id, status: resp.Status, code: resp.StatusCode, body: snippet(answer, 200)}
	}
	return nil
}

// snippet is the start of an answer, on one line.
func snippet(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "")), " ")
}

// deliveryBody is the JSON posted for a stream entry: {delivery_id, order}
// for an order, {delivery_id, event} for a stock signal (signal.go).
func deliveryBody(m stream.Message) ([]byte, error) {
	id := m.Field("delivery_id")
	if m.Field("kind") == "signal" {
		return json.Marshal(struct {
			DeliveryID string          `json:"delivery_id"`
			Event      json.RawMessage `json:"event"`
		}{id, json.RawMessage(m.Field("event"))})
	}
	return json.Marshal(struct {
		DeliveryID string          `json:"delivery_id"`
		Order      json.RawMessage `json:"order"`
	}{id, json.RawMessage(m.Field("order"))})
}
