package stream

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// Set is one consumer group over the partitions of a stream: a Consumer
// per partition (each its own stream, dead-letter, attempts and reasons
// keys under the partition's hash tag, and its own group of the same
// name), and, when the stream used to be a single key (partitions raised
// from 1 on a running install), a Consumer of that key too, so what it
// still holds is handled.
//
// With one partition and no previous key a Set is its one Consumer: the
// same keys, the same dead-letter ids.
type Set struct {
	rdb    redis.UniversalClient
	parts  []*Consumer
	legacy *Consumer // nil: no previous single stream
	// partition picks the partition of a message's fields (Replay of a
	// previous stream's dead letter).
	partition func(values map[string]any) int
	backlogs  []atomic.Int64 // per partition, then the previous stream
	backlog   func(n int64)
}

// SetOptions configures a Set.
type SetOptions struct {
	// Partitions are the options of each partition's consumer (Stream and
	// Group set in each).
	Partitions []Options
	// Legacy, when set, is the single stream the partitions replaced: it is
	// consumed too while it exists (see Run), its dead letters are listed
	// and replayed onto the partitions.
	Legacy *Options
	// Partition is the partition (0 … len(Partitions)-1) of a message's
	// fields; required with Legacy.
	Partition func(values map[string]any) int
}

// NewSet builds a Set; it does no I/O. Each partition's Hooks.Backlog (and
// Legacy's) is replaced by one that reports the sum over the partitions to
// the first partition's Hooks.Backlog.
func NewSet(rdb redis.UniversalClient, o SetOptions) *Set {
	s := &Set{rdb: rdb, partition: o.Partition, backlogs: make([]atomic.Int64, len(o.Partitions)+1)}
	if len(o.Partitions) > 0 {
		s.backlog = o.Partitions[0].Hooks.Backlog
	}
	for i, po := range o.Partitions {
		po.Hooks.Backlog = s.backlogHook(i)
		s.parts = append(s.parts, New(rdb, po))
	}
	if o.Legacy != nil {
		lo := *o.Legacy
		lo.Hooks.Backlog = s.backlogHook(len(o.Partitions))
		s.legacy = New(rdb, lo)
	}
	return s
}

func (s *Set) backlogHook(i int) func(int64) {
	if s.backlog == nil {
		return nil
	}
	return func(n int64) {
		s.backlogs[i].Store(n)
		var sum int64
		for j := range s.backlogs {
			sum += s.backlogs[j].Load()
		}
		s.backlog(sum)
	}
}

// Streams are the partitions' stream keys, in partition order.
func (s *Set) Streams() []string {
	out := make([]string, len(s.parts))
	for i, c := range s.parts {
		out[i] = c.Stream()
	}
	return out
}

// Partition is partition i's consumer.
func (s *Set) Partition(i int) *Consumer { return s.parts[i] }

// Run consumes every partition (see Consumer.Run) until ctx ends; it fails
// only if a group can not be made at the start. The previous single
// stream, if it exists when Run starts, is consumed too: when it is empty
// (and its entries are deleted on acknowledgement) it is deleted instead;
// a stream whose entries are kept (KeepAcked) is consumed for as long as
// the process runs. ctx ending during the start is no failure: Run returns
// nil.
func (s *Set) Run(ctx context.Context, h Handler) error {
	err := s.run(ctx, h)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (s *Set) run(ctx context.Context, h Handler) error {
	consumers := s.parts
	if s.legacy != nil {
		run, err := s.legacyToRun(ctx)
		if err != nil {
			return err
		}
		if run {
			consumers = append(slicesClone(consumers), s.legacy)
		}
	}
	for _, c := range consumers {
		if err := c.createGroup(ctx); err != nil {
			return err
		}
	}
	var g errgroup.Group
	for _, c := range consumers {
		g.Go(func() error { return c.Run(ctx, h) })
	}
	return g.Wait()
}

func slicesClone(cs []*Consumer) []*Consumer { return append([]*Consumer(nil), cs...) }

// dropIfEmpty deletes a stream that holds no entry (KEYS[1]); 1 if it did.
var dropIfEmpty = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('XLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1]); return 1
end
return 0`)

// legacyToRun says whether the previous single stream must be consumed:
// it exists and holds entries (an empty one, entries deleted on
// acknowledgement, is deleted).
func (s *Set) legacyToRun(ctx context.Context) (bool, error) {
	key := s.legacy.Stream()
	if !s.legacy.o.KeepAcked {
		if err := dropIfEmpty.Run(ctx, s.rdb, []string{key}).Err(); err != nil {
			return false, fmt.Errorf("checking the previous stream %s: %w", key, err)
		}
	}
	n, err := s.rdb.Exists(ctx, key).Result()
	if err != nil {
		return false, fmt.Errorf("checking the previous stream %s: %w", key, err)
	}
	if n == 1 {
		s.legacy.o.Logger.Warn().Str("stream", key).Int("partitions", len(s.parts)).
			Msg("the stream is partitioned now; its previous single stream is consumed too until it is empty")
	}
	return n == 1, nil
}

// legacyMark prefixes the dead-letter ids of the previous single stream.
const legacyMark = "legacy"

// idSep separates a dead letter's partition from its id.
const idSep = ":"

// DeadLetters lists up to n dead letters of every partition (and of the
// previous single stream), newest first. With several partitions (or a
// previous stream) an id is "<partition>:<id>" ("legacy:<id>"), which
// Replay takes (one path segment of the admin API); with one partition it
// is the dead letter's own id.
func (s *Set) DeadLetters(ctx context.Context, n int64) ([]DeadLetter, error) {
	if len(s.parts) == 1 && s.legacy == nil {
		return s.parts[0].DeadLetters(ctx, n)
	}
	var (
		mu  sync.Mutex
		all []DeadLetter
	)
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range s.sources() {
		g.Go(func() error {
			dls, err := c.DeadLetters(gctx, n)
			if err != nil {
				return err
			}
			mark := strconv.Itoa(i)
			if i == len(s.parts) {
				mark = legacyMark
			}
			for j := range dls {
				dls[j].ID = mark + idSep + dls[j].ID
			}
			mu.Lock()
			all = append(all, dls...)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.SliceStable(all, func(a, b int) bool { return newer(idOf(all[a].ID), idOf(all[b].ID)) })
	if int64(len(all)) > n {
		all = all[:n]
	}
	return all, nil
}

// sources are the partitions' consumers, then the previous stream's.
func (s *Set) sources() []*Consumer {
	if s.legacy == nil {
		return s.parts
	}
	return append(slicesClone(s.parts), s.legacy)
}

// idOf strips the partition from a qualified dead-letter id.
func idOf(qualified string) string {
	_, id, _ := strings.Cut(qualified, idSep)
	return id
}

// newer compares two stream ids ("ms-seq").
func newer(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	ami, _ := strconv.ParseUint(am, 10, 64)
	bmi, _ := strconv.ParseUint(bm, 10, 64)
	if ami != bmi {
		return ami > bmi
	}
	asi, _ := strconv.ParseUint(as, 10, 64)
	bsi, _ := strconv.ParseUint(bs, 10, 64)
	return asi > bsi
}

// Replay moves a dead letter back onto its partition's stream (see
// Consumer.Replay). A dead letter of the previous single stream goes onto
// the partition its fields belong to: added there first, then deleted
// from the old dead-letter stream (two slots, so two steps: a crash
// between them leaves it listed once more; handlers are idempotent).
func (s *Set) Replay(ctx context.Context, deadID string) (string, error) {
	if len(s.parts) == 1 && s.legacy == nil {
		return s.parts[0].Replay(ctx, deadID)
	}
	mark, id, ok := strings.Cut(deadID, idSep)
	if !ok || !streamID.MatchString(id) {
		return "", ErrNoDeadLetter
	}
	if mark == legacyMark && s.legacy != nil {
		return s.replayLegacy(ctx, id)
	}
	i, err := strconv.Atoi(mark)
	if err != nil || i < 0 || i >= len(s.parts) || strconv.Itoa(i) != mark {
		return "", ErrNoDeadLetter
	}
	return s.parts[i].Replay(ctx, id)
}

func (s *Set) replayLegacy(ctx context.Context, id string) (string, error) {
	msgs, err := s.rdb.XRange(ctx, s.legacy.o.Dead, id, id).Result()
	if err != nil {
		return "", fmt.Errorf("replaying %s: %w", id, err)
	}
	if len(msgs) == 0 {
		return "", ErrNoDeadLetter
	}
	values := map[string]any{}
	for k, v := range msgs[0].Values {
		if !meta[k] {
			values[k] = v
		}
	}
	if len(values) == 0 {
		return "", errors.New("dead letter holds no message fields")
	}
	to := s.parts[s.partition(values)]
	newID, err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: to.Stream(), Values: values}).Result()
	if err != nil {
		return "", fmt.Errorf("replaying %s: %w", id, err)
	}
	if err := s.rdb.XDel(ctx, s.legacy.o.Dead, id).Err(); err != nil {
		return "", fmt.Errorf("replayed %s as %s, but deleting the dead letter: %w", id, newID, err)
	}
	return newID, nil
}

// Backlog is the sum of every partition's Backlog (and the previous
// stream's).
func (s *Set) Backlog(ctx context.Context) (int64, error) {
	var sum int64
	for _, c := range s.sources() {
		n, err := c.Backlog(ctx)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}
