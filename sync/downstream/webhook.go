package downstream

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
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

	"github.com/shelfsync/shelfsync/connectors"
)

// Signature headers of a downstream POST. The signature is
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)), so a
// receiver can verify the body and reject old replays.
const (
	HeaderDelivery  = "X-Shelfsync-Delivery"
	HeaderTimestamp = "X-Shelfsync-Timestamp"
	HeaderSignature = "X-Shelfsync-Signature"
)

// Sign computes the signature header value.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Forwarder POSTs every message of the downstream stream to a URL, reading
// it with its own consumer group. A message is acknowledged only after the
// receiver answered 2xx; until then it is retried with backoff, forever
// (at least once: nothing is dropped; the backlog is a metric).
type Forwarder struct {
	rdb      redis.UniversalClient
	stream   string
	group    string
	consumer string
	url      string
	secret   []byte
	client   *http.Client
	log      zerolog.Logger
	results  *prometheus.CounterVec
}

// NewForwarder builds a Forwarder; client should retry transient failures
// (connectors.NewHTTPClient). No I/O.
func NewForwarder(rdb redis.UniversalClient, stream, consumer, url string, secret []byte, client *http.Client, log zerolog.Logger, reg prometheus.Registerer) *Forwarder {
	f := &Forwarder{
		rdb: rdb, stream: stream, group: "webhook", consumer: consumer, url: url, secret: secret, client: client, log: log,
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_downstream_deliveries_total",
			Help: "Downstream HTTP deliveries by result (ok, failed, trimmed: gone from the stream before delivery).",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(f.results)
	}
	return f
}

// claimIdle is how long a message stays with the replica that read it
// before another may take it over: longer than a delivery with its
// retries takes, so a message in flight is never delivered twice by two
// replicas at once.
const claimIdle = time.Minute

// next returns what to deliver now: this replica's own pending messages
// first (failed before), then messages a dead replica left pending longer
// than claimIdle, then new ones (blocking up to a second).
func (f *Forwarder) next(ctx context.Context) ([]redis.XMessage, error) {
	streams, err := f.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: f.group, Consumer: f.consumer, Streams: []string{f.stream, "0"}, Count: 16,
	}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	if len(streams) == 1 && len(streams[0].Messages) > 0 {
		return streams[0].Messages, nil
	}
	msgs, _, err := f.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: f.stream, Group: f.group, Consumer: f.consumer, MinIdle: claimIdle, Start: "0-0", Count: 16,
	}).Result()
	if err != nil || len(msgs) > 0 {
		return msgs, err
	}
	streams, err = f.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: f.group, Consumer: f.consumer, Streams: []string{f.stream, ">"}, Count: 16, Block: time.Second,
	}).Result()
	if err != nil {
		return nil, err
	}
	for _, s := range streams {
		msgs = append(msgs, s.Messages...)
	}
	return msgs, nil
}

// Run forwards until ctx ends.
func (f *Forwarder) Run(ctx context.Context) error {
	err := f.rdb.XGroupCreateMkStream(ctx, f.stream, f.group, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("creating downstream consumer group: %w", err)
	}
	backoff := time.Second
	for ctx.Err() == nil {
		msgs, err := f.next(ctx)
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				f.log.Warn().Err(err).Msg("reading downstream stream")
				_ = connectors.WaitContext(ctx, time.Second)
			}
			continue
		}
		failed := false
		for _, m := range msgs {
			if len(m.Values) == 0 {
				// Trimmed off the stream (downstream.stream_max_len) before
				// it was delivered: nothing left to send.
				f.results.WithLabelValues("trimmed").Inc()
				f.log.Error().Str("id", m.ID).Msg("downstream message trimmed before delivery; raise downstream.stream_max_len")
				f.rdb.XAck(context.WithoutCancel(ctx), f.stream, f.group, m.ID)
				continue
			}
			if err := f.deliver(ctx, m); err != nil {
				failed = true
				f.results.WithLabelValues("failed").Inc()
				if ctx.Err() == nil {
					f.log.Warn().Err(err).Str("id", m.ID).Msg("downstream delivery failed; will retry")
				}
				continue
			}
			f.results.WithLabelValues("ok").Inc()
			f.rdb.XAck(context.WithoutCancel(ctx), f.stream, f.group, m.ID)
		}
		if failed {
			_ = connectors.WaitContext(ctx, backoff)
			backoff = min(backoff*2, 5*time.Minute)
		} else {
			backoff = time.Second
		}
	}
	return nil
}

func (f *Forwarder) deliver(ctx context.Context, m redis.XMessage) error {
	id, _ := m.Values["delivery_id"].(string)
	raw, _ := m.Values["order"].(string)
	body, err := json.Marshal(struct {
		DeliveryID string          `json:"delivery_id"`
		Order      json.RawMessage `json:"order"`
	}{id, json.RawMessage(raw)})
	if err != nil {
		return fmt.Errorf("encoding delivery: %w", err)
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
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("posting delivery %s: %w", id, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("posting delivery %s: receiver answered %s", id, resp.Status)
	}
	return nil
}
