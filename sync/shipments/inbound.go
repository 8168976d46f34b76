package shipments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/sync/stream"
)

// StreamGroup is the consumer group shelfsync reads the inbound shipments
// stream with.
const StreamGroup = "shelfsync"

// StreamField is the entry field holding the shipment (Request JSON).
const StreamField = "shipment"

// StreamKey is the inbound stream's key: prefix + "{" + name + "}".
func StreamKey(prefix, name string) string { return prefix + "{" + name + "}" }

// Inbound reads shipments a WMS appends to a Redis Stream: each entry's
// "shipment" field is a Request as the API takes it. A shipment refused
// for its content (what the API answers 4xx) is dead-lettered at once
// with the reason (<stream>:dead); one that failed otherwise (Redis) is
// retried and dead-lettered after max attempts.
type Inbound struct {
	s *Service
	c *stream.Consumer
}

// NewInbound builds the consumer; o.Stream and o.Group are set by the caller
// or default to StreamKey(prefix, "shipments") and StreamGroup.
func (s *Service) NewInbound(rdb redis.UniversalClient, o stream.Options) *Inbound {
	if o.Stream == "" {
		o.Stream = StreamKey(s.o.Prefix, "shipments")
	}
	if o.Group == "" {
		o.Group = StreamGroup
	}
	return &Inbound{s: s, c: stream.New(rdb, o)}
}

// Consumer is the stream consumer (dead letters, replay, backlog).
func (in *Inbound) Consumer() *stream.Consumer { return in.c }

// DeadLetter is an entry of the inbound stream that was refused (the
// status and reason the API would have answered) or failed every attempt.
type DeadLetter struct {
	ID      string `json:"id"`       // id in the dead-letter stream (use it to replay)
	EntryID string `json:"entry_id"` // its id in the inbound stream
	// Shipment is the entry's shipment as it was sent; Raw holds it when
	// it is not a readable shipment.
	Shipment *Request `json:"shipment,omitempty"`
	Raw      string   `json:"raw,omitempty"`
	Reason   string   `json:"reason"`
	Attempts int64    `json:"attempts"`
	At       string   `json:"at"`
}

// DeadLetters lists up to n dead letters of the inbound stream, newest
// first.
func (in *Inbound) DeadLetters(ctx context.Context, n int64) ([]DeadLetter, error) {
	dls, err := in.c.DeadLetters(ctx, n)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(dls))
	for _, dl := range dls {
		d := DeadLetter{ID: dl.ID, EntryID: dl.MessageID, Reason: dl.Reason, Attempts: dl.Attempts, At: dl.At}
		raw := dl.Values[StreamField]
		if r, err := DecodeRequest([]byte(raw)); err == nil {
			d.Shipment = &r
		} else {
			d.Raw = raw
		}
		out = append(out, d)
	}
	return out, nil
}

// Replay moves a dead letter back onto the inbound stream, for another
// try (after the cause was fixed: the order arrived, a carrier was added);
// stream.ErrNoDeadLetter when there is none of that id.
func (in *Inbound) Replay(ctx context.Context, deadID string) (string, error) {
	return in.c.Replay(ctx, deadID)
}

// Run reads the stream until ctx ends.
func (in *Inbound) Run(ctx context.Context) error {
	return in.c.Run(ctx, in.handle)
}

func (in *Inbound) handle(ctx context.Context, msgs []stream.Message) []error {
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		errs[i] = in.one(ctx, m)
	}
	return errs
}

func (in *Inbound) one(ctx context.Context, m stream.Message) error {
	r, err := DecodeRequest([]byte(m.Field(StreamField)))
	if err != nil {
		return stream.Refuse(err.Error())
	}
	_, err = in.s.Submit(ctx, r, "stream")
	var e *Error
	if errors.As(err, &e) {
		return stream.Refuse(fmt.Sprintf("%d: %s%s", e.Status, e.Msg, details(e)))
	}
	return err
}

// details is an Error's open units or known carriers, for a dead letter's reason.
func details(e *Error) string {
	switch {
	case len(e.Open) > 0:
		return fmt.Sprintf(" (open: %v)", e.Open)
	case len(e.Known) > 0:
		return fmt.Sprintf(" (known carriers: %v)", e.Known)
	}
	return ""
}

// maxRequest is the largest shipment body taken.
const maxRequest = 1 << 16

// DecodeRequest reads a shipment strictly: one JSON object, no unknown
// field, nothing after it. The admin API reads its bodies more strictly
// still (no key twice).
func DecodeRequest(data []byte) (Request, error) {
	var r Request
	if len(data) == 0 {
		return r, &Error{Status: http.StatusBadRequest, Msg: "shipment: empty: a JSON object is required"}
	}
	if len(data) > maxRequest {
		return r, &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("shipment: larger than %d bytes", maxRequest)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Request{}, &Error{Status: http.StatusBadRequest, Msg: "shipment: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return Request{}, &Error{Status: http.StatusBadRequest, Msg: "shipment: unexpected data after the JSON object"}
	}
	return r, nil
}
