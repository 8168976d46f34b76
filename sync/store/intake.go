package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors"
)

// IntakeKey is the stream, under the key prefix, that channel events go to.
const IntakeKey = "intake"

// IntakeField is the stream entry field that holds an event's JSON.
const IntakeField = "event"

// StreamIntake is the durable intake until the engine brings its own: each
// event becomes one entry of a Redis Stream, as JSON under IntakeField.
type StreamIntake struct {
	rdb redis.UniversalClient
	key string
}

var _ connectors.EventSink = (*StreamIntake)(nil)

// NewStreamIntake appends to keyPrefix + IntakeKey.
func NewStreamIntake(rdb redis.UniversalClient, keyPrefix string) *StreamIntake {
	return &StreamIntake{rdb: rdb, key: keyPrefix + IntakeKey}
}

// Key is the stream's full key.
func (s *StreamIntake) Key() string { return s.key }

// Put appends every event in one MULTI/EXEC: when it returns nil all of
// them are stored (with Redis's own durability), otherwise none is, and
// the caller has the channel retry.
func (s *StreamIntake) Put(ctx context.Context, events []connectors.Event) error {
	if len(events) == 0 {
		return nil
	}
	vals := make([][]byte, len(events))
	for i := range events {
		b, err := json.Marshal(&events[i])
		if err != nil {
			return fmt.Errorf("intake: encoding event %d: %w", i, err)
		}
		vals[i] = b
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, v := range vals {
			p.XAdd(ctx, &redis.XAddArgs{Stream: s.key, Values: []any{IntakeField, v}})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("intake: appending %d event(s) to %s: %w", len(events), s.key, err)
	}
	return nil
}
