package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

func newConsumer(t *testing.T, o Options) (*Consumer, *redis.Client) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	o.Stream = prefix + "{s}:stream"
	o.Dead = prefix + "{s}:dead"
	o.Attempts = prefix + "{s}:attempts"
	o.Reasons = prefix + "{s}:reasons"
	if o.Group == "" {
		o.Group = "g"
	}
	if o.Consumer == "" {
		o.Consumer = "test"
	}
	if o.Block == 0 {
		o.Block = 50 * time.Millisecond
	}
	o.Logger = zerolog.Nop()
	return New(rdb, o), rdb
}

func add(t *testing.T, c *Consumer, names ...string) []string {
	t.Helper()
	ids := make([]string, len(names))
	for i, n := range names {
		id, err := c.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: c.o.Stream, Values: []any{"n", n}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// recorder is a handler that records the "n" field of what it handled, in
// order; decide, when set, says how a message's handling goes.
type recorder struct {
	mu     sync.Mutex
	seen   []string
	decide func(name string, try int) error
	tries  map[string]int
}

func (r *recorder) handle(_ context.Context, msgs []Message) []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tries == nil {
		r.tries = map[string]int{}
	}
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		n := m.Field("n")
		r.tries[n]++
		r.seen = append(r.seen, n)
		if r.decide != nil {
			errs[i] = r.decide(n, r.tries[n])
		}
	}
	return errs
}

func (r *recorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tries[name]
}

func (r *recorder) order() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// run starts c.Run and returns a stop that waits for it.
func run(t *testing.T, c *Consumer, h Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func pending(t *testing.T, c *Consumer) int64 {
	t.Helper()
	p, err := c.rdb.XPending(context.Background(), c.o.Stream, c.o.Group).Result()
	if err != nil {
		t.Fatal(err)
	}
	return p.Count
}

func hlen(t *testing.T, c *Consumer, key string) int64 {
	t.Helper()
	n, err := c.rdb.HLen(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAckDeletesHandledMessages: a handled message is acknowledged and
// deleted; with KeepAcked only acknowledged (other groups read it too).
func TestAckDeletesHandledMessages(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("KeepAcked=%v", keep), func(t *testing.T) {
			c, _ := newConsumer(t, Options{Workers: 2, KeepAcked: keep})
			r := &recorder{}
			stop := run(t, c, r.handle)
			add(t, c, "a", "b", "c")
			waitFor(t, "three handled", func() bool { return len(r.order()) == 3 })
			waitFor(t, "nothing pending", func() bool { return pending(t, c) == 0 })
			stop()
			n, err := c.Backlog(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int64{false: 0, true: 3}[keep]; n != want {
				t.Fatalf("stream length %d, want %d", n, want)
			}
			for _, name := range []string{"a", "b", "c"} {
				if r.count(name) != 1 {
					t.Fatalf("%s handled %d times", name, r.count(name))
				}
			}
		})
	}
}

// TestDeadLetterAfterMaxAttempts: a message that keeps failing is retried
// (by the reclaimer) until MaxAttempts, then dead-lettered with its fields,
// last reason and attempts; its counters are gone; Replay gives it another
// round.
func TestDeadLetterAfterMaxAttempts(t *testing.T) {
	var failed, dead atomic.Int64
	c, _ := newConsumer(t, Options{MaxAttempts: 3, ClaimIdle: 40 * time.Millisecond, Hooks: Hooks{
		Failed:       func(Message, error, int64) { failed.Add(1) },
		DeadLettered: func(Message, string, int64) { dead.Add(1) },
	}})
	r := &recorder{decide: func(name string, try int) error {
		if name == "bad" {
			return fmt.Errorf("boom %d", try)
		}
		return nil
	}}
	stop := run(t, c, r.handle)
	add(t, c, "good", "bad")
	waitFor(t, "a dead letter", func() bool { return dead.Load() == 1 })
	stop()
	if r.count("good") != 1 || r.count("bad") != 3 {
		t.Fatalf("good handled %d times, bad %d; want 1 and 3", r.count("good"), r.count("bad"))
	}
	if failed.Load() != 2 {
		t.Fatalf("Failed hook called %d times, want 2 (the third attempt dead-letters)", failed.Load())
	}
	ctx := context.Background()
	if n, _ := c.Backlog(ctx); n != 0 || pending(t, c) != 0 {
		t.Fatalf("stream length %d, pending %d after dead-lettering; want 0, 0", n, pending(t, c))
	}
	if hlen(t, c, c.o.Attempts) != 0 || hlen(t, c, c.o.Reasons) != 0 {
		t.Fatal("attempts or reasons left behind")
	}
	dl, err := c.DeadLetters(ctx, 10)
	if err != nil || len(dl) != 1 {
		t.Fatalf("dead letters %+v (%v)", dl, err)
	}
	if d := dl[0]; d.Values["n"] != "bad" || len(d.Values) != 1 || d.Reason != "boom 3" || d.Attempts != 3 || d.MessageID == "" || d.At == "" {
		t.Fatalf("dead letter %+v", d)
	}
	if _, err := c.Replay(ctx, dl[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Replay(ctx, dl[0].ID); !errors.Is(err, ErrNoDeadLetter) {
		t.Fatalf("second replay: %v", err)
	}
	if _, err := c.Replay(ctx, "not-an-id"); !errors.Is(err, ErrNoDeadLetter) {
		t.Fatalf("replay of a malformed id: %v", err)
	}
	r.decide = nil
	run(t, c, r.handle)
	waitFor(t, "the replayed message", func() bool { return r.count("bad") == 4 })
	waitFor(t, "an empty stream", func() bool { n, _ := c.Backlog(ctx); return n == 0 })
}

// TestRefusedIsDeadLetteredAtOnce: a refusal is never retried.
func TestRefusedIsDeadLetteredAtOnce(t *testing.T) {
	c, _ := newConsumer(t, Options{MaxAttempts: 5, ClaimIdle: 40 * time.Millisecond})
	r := &recorder{decide: func(string, int) error { return fmt.Errorf("checking: %w", Refuse("it can never apply")) }}
	stop := run(t, c, r.handle)
	add(t, c, "bad")
	ctx := context.Background()
	waitFor(t, "a dead letter", func() bool { dl, _ := c.DeadLetters(ctx, 10); return len(dl) == 1 })
	time.Sleep(150 * time.Millisecond) // several reclaim ticks
	stop()
	if r.count("bad") != 1 {
		t.Fatalf("refused message handled %d times, want 1", r.count("bad"))
	}
	dl, _ := c.DeadLetters(ctx, 10)
	if dl[0].Attempts != 1 || !strings.Contains(dl[0].Reason, "refused: it can never apply") {
		t.Fatalf("dead letter %+v", dl[0])
	}
}

// TestReclaimAfterACrashedWorker: what a worker read and never finished is
// taken over by another consumer after ClaimIdle and handled once.
func TestReclaimAfterACrashedWorker(t *testing.T) {
	c, rdb := newConsumer(t, Options{ClaimIdle: 50 * time.Millisecond, Consumer: "crashed"})
	add(t, c, "o1", "o2")
	got := make(chan struct{}, 1)
	stop := run(t, c, func(ctx context.Context, msgs []Message) []error {
		select {
		case got <- struct{}{}:
		default:
		}
		<-ctx.Done() // dies while handling: the messages stay pending
		errs := make([]error, len(msgs))
		for i := range errs {
			errs[i] = ctx.Err()
		}
		return errs
	})
	<-got
	stop()
	if pending(t, c) != 2 {
		t.Fatalf("pending %d after the crash, want 2", pending(t, c))
	}
	if hlen(t, c, c.o.Attempts) != 0 {
		t.Fatal("an attempt was counted for a shutdown")
	}
	var reclaimed atomic.Int64
	o := c.o
	o.Consumer = "fresh"
	o.Hooks.Reclaimed = func(n int) { reclaimed.Add(int64(n)) }
	c2 := New(rdb, o)
	r := &recorder{}
	stop2 := run(t, c2, r.handle)
	waitFor(t, "reclaimed messages", func() bool { return r.count("o1") == 1 && r.count("o2") == 1 })
	waitFor(t, "an empty stream", func() bool { n, _ := c2.Backlog(context.Background()); return n == 0 })
	stop2()
	if r.count("o1") != 1 || r.count("o2") != 1 || reclaimed.Load() != 2 {
		t.Fatalf("o1 %d, o2 %d times, %d reclaimed; want once each, 2", r.count("o1"), r.count("o2"), reclaimed.Load())
	}
}

// TestLostGroupIsRecreated: after Redis lost the stream with its group (a
// flush, a failover to an empty replica), or the group alone, reading goes
// on without a restart.
func TestLostGroupIsRecreated(t *testing.T) {
	for _, how := range []string{"stream deleted", "group destroyed"} {
		t.Run(how, func(t *testing.T) {
			c, rdb := newConsumer(t, Options{Workers: 2, KeepAcked: true, ClaimIdle: 100 * time.Millisecond})
			r := &recorder{}
			run(t, c, r.handle)
			add(t, c, "before")
			waitFor(t, "the first message", func() bool { return r.count("before") == 1 })
			ctx := context.Background()
			if how == "stream deleted" {
				rdb.Del(ctx, c.o.Stream)
			} else {
				rdb.XGroupDestroy(ctx, c.o.Stream, c.o.Group)
			}
			add(t, c, "after")
			waitFor(t, "a message after the group was lost", func() bool { return r.count("after") == 1 })
			if how == "group destroyed" {
				// Made again from the start: what was still on the stream
				// comes again (at least once), nothing is skipped.
				waitFor(t, "the kept message again", func() bool { return r.count("before") == 2 })
			}
		})
	}
}

// TestRetryIsNotCountedAndKeepsOrder: an ErrRetry failure counts no
// attempt and is never dead-lettered, however long it lasts; the worker
// retries its own pending messages in order, after a backoff, before it
// takes anything new.
func TestRetryIsNotCountedAndKeepsOrder(t *testing.T) {
	down := true // read and written under r.mu: one batch sees one state
	c, _ := newConsumer(t, Options{MaxAttempts: 1, Count: 2, RetryBackoff: 20 * time.Millisecond,
		MaxRetryBackoff: 40 * time.Millisecond, ClaimIdle: time.Hour})
	r := &recorder{}
	r.decide = func(name string, try int) error {
		if down {
			return Retry(errors.New("receiver down"))
		}
		return nil
	}
	run(t, c, r.handle)
	add(t, c, "1", "2", "3")
	waitFor(t, "several retries", func() bool { return r.count("1") >= 4 })
	add(t, c, "4")
	time.Sleep(50 * time.Millisecond)
	if r.count("4") != 0 {
		t.Fatal("a new message was taken while older ones wait for a retry")
	}
	ctx := context.Background()
	if dl, _ := c.DeadLetters(ctx, 10); len(dl) != 0 || hlen(t, c, c.o.Attempts) != 0 {
		t.Fatalf("retries were counted: %d dead letters, %d attempts", len(dl), hlen(t, c, c.o.Attempts))
	}
	r.mu.Lock()
	down = false
	r.mu.Unlock()
	waitFor(t, "everything handled", func() bool { n, _ := c.Backlog(ctx); return n == 0 && r.count("4") == 1 })
	var ok []string
	seen := r.order()
	for i, n := range seen {
		if i >= len(seen)-4 {
			ok = append(ok, n)
		}
	}
	if strings.Join(ok, ",") != "1,2,3,4" {
		t.Fatalf("handled in the order %v once the receiver was back, want 1,2,3,4", ok)
	}
}

// TestTrimmedPendingMessageIsAcknowledged: a pending message trimmed off
// the stream before it was handled is acknowledged and reported, not
// handed to the handler.
func TestTrimmedPendingMessageIsAcknowledged(t *testing.T) {
	c, rdb := newConsumer(t, Options{KeepAcked: true, ClaimIdle: 40 * time.Millisecond, Consumer: "crashed"})
	ids := add(t, c, "gone")
	ctx := context.Background()
	if err := c.createGroup(ctx); err != nil {
		t.Fatal(err)
	}
	// A worker read it and died; then MAXLEN trimmed it.
	if _, _, err := c.read(ctx, "crashed-0", ">", nil); err != nil {
		t.Fatal(err)
	}
	rdb.XDel(ctx, c.o.Stream, ids[0])
	var gone atomic.Int64
	o := c.o
	o.Consumer = "fresh"
	o.Hooks.Gone = func(string) { gone.Add(1) }
	c2 := New(rdb, o)
	r := &recorder{}
	run(t, c2, r.handle)
	waitFor(t, "the trimmed message reported", func() bool { return gone.Load() == 1 })
	waitFor(t, "nothing pending", func() bool { return pending(t, c2) == 0 })
	if len(r.order()) != 0 {
		t.Fatalf("handler got %v", r.order())
	}
}

// TestRetryWrapsAndUnwraps: Retry keeps the error's text and chain.
func TestRetryWrapsAndUnwraps(t *testing.T) {
	base := errors.New("503")
	err := fmt.Errorf("posting: %w", Retry(base))
	if !errors.Is(err, ErrRetry) || !errors.Is(err, base) || err.Error() != "posting: 503" {
		t.Fatalf("Retry: %v", err)
	}
	if Retry(nil) != nil {
		t.Fatal("Retry(nil) is not nil")
	}
	if errors.Is(Refuse("x"), ErrRetry) || !errors.Is(Refuse("x"), ErrRefused) {
		t.Fatal("Refuse")
	}
}

// TestAckOfALargeBatch: a batch is acknowledged in script runs of at most
// ackChunk ids; more than one chunk leaves nothing pending, nothing on the
// stream and no attempts or reasons of the acknowledged messages.
func TestAckOfALargeBatch(t *testing.T) {
	c, rdb := newConsumer(t, Options{})
	ctx := context.Background()
	names := make([]string, 2*ackChunk+3)
	for i := range names {
		names[i] = fmt.Sprint(i)
	}
	if err := rdb.XGroupCreateMkStream(ctx, c.o.Stream, c.o.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	ids := add(t, c, names...)
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: c.o.Group, Consumer: "x", Streams: []string{c.o.Stream, ">"}, Count: int64(len(ids))}).Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{ids[0], ids[ackChunk], ids[len(ids)-1]} {
		rdb.HSet(ctx, c.o.Attempts, id, 1)
		rdb.HSet(ctx, c.o.Reasons, id, "earlier failure")
	}
	rdb.HSet(ctx, c.o.Attempts, "other", 1)
	if p := pending(t, c); p != int64(len(ids)) {
		t.Fatalf("%d pending before the ack, want %d", p, len(ids))
	}
	c.ack(ctx, ids[1:])
	if p := pending(t, c); p != 1 {
		t.Fatalf("%d pending after acknowledging all but one, want 1", p)
	}
	if n, _ := c.Backlog(ctx); n != 1 {
		t.Fatalf("stream length %d after the ack, want 1", n)
	}
	if a, r := hlen(t, c, c.o.Attempts), hlen(t, c, c.o.Reasons); a != 2 || r != 1 {
		t.Fatalf("attempts %d, reasons %d after the ack; want 2 (the unacknowledged and another) and 1", a, r)
	}
}

type markerKey struct{}

// TestAfterReadRunsAfterTheReadGotItsEntries: the commands AfterRead
// queues run when the blocked read has its entries, not when it was sent:
// a write made while the read waited, before the entry it gets was added,
// is what they see, and the handler gets their context.
func TestAfterReadRunsAfterTheReadGotItsEntries(t *testing.T) {
	shared, prefix := redistest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	name := "afterread-" + strings.Trim(prefix, ":")
	rdb := redis.NewClient(&redis.Options{Addr: shared.Options().Addr, ClientName: strings.ReplaceAll(name, ":", "-")})
	t.Cleanup(func() { _ = rdb.Close() })
	marker := prefix + "{s}:marker"
	if err := rdb.Set(ctx, marker, "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	c := New(rdb, Options{
		Stream: prefix + "{s}:stream", Group: "g", Consumer: "test", Block: time.Second, Logger: zerolog.Nop(),
		AfterRead: func(ctx context.Context, pipe redis.Pipeliner) func(context.Context) context.Context {
			get := pipe.Get(ctx, marker)
			return func(ctx context.Context) context.Context { return context.WithValue(ctx, markerKey{}, get.Val()) }
		},
	})
	got := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx, func(ctx context.Context, msgs []Message) []error {
			v, _ := ctx.Value(markerKey{}).(string)
			select {
			case got <- v:
			default:
			}
			return make([]error, len(msgs))
		})
	}()
	// Wait until the worker's read is blocked in Redis.
	for blocked := false; !blocked; {
		list, err := shared.ClientList(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(list, "\n") {
			if strings.Contains(line, " name="+strings.ReplaceAll(name, ":", "-")+" ") && strings.Contains(line, " cmd=xreadgroup") && strings.Contains(line, " flags=b") {
				blocked = true
			}
		}
	}
	if err := rdb.Set(ctx, marker, "after", 0).Err(); err != nil {
		t.Fatal(err)
	}
	add(t, c, "one")
	if v := <-got; v != "after" {
		t.Fatalf("the handler's context holds %q, want %q: AfterRead's GET ran before the read had its entry", v, "after")
	}
	cancel()
	<-done
}

// stallConn is a connection to Redis on which, once armed, the first
// reply to a pipeline holding an XREADGROUP is never read: the read waits
// for its deadline and times out, as when Redis stalls past the client's
// read timeout. Redis has run the XREADGROUP (it delivered its entries).
type stallConn struct {
	net.Conn
	armed    *atomic.Bool
	stalled  *atomic.Bool
	stall    bool
	deadline time.Time
}

func (c *stallConn) Write(b []byte) (int, error) {
	if bytes.Contains(bytes.ToUpper(b), []byte("XREADGROUP")) && c.armed.CompareAndSwap(true, false) {
		c.stall = true
	}
	return c.Conn.Write(b)
}

func (c *stallConn) Read(b []byte) (int, error) {
	if !c.stall {
		return c.Conn.Read(b)
	}
	c.stalled.Store(true)
	if c.deadline.IsZero() {
		return 0, errors.New("stallConn: no read deadline")
	}
	time.Sleep(time.Until(c.deadline))
	return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
}

func (c *stallConn) SetReadDeadline(t time.Time) error {
	c.deadline = t
	return c.Conn.SetReadDeadline(t)
}

func (c *stallConn) SetDeadline(t time.Time) error {
	c.deadline = t
	return c.Conn.SetDeadline(t)
}

// TestReadThatTimedOutIsNotLostUntilReclaim: the read of new entries with
// AfterRead (a pipeline) times out after Redis delivered its entries to
// this consumer. They are handled at once (the worker reads its own
// pending entries after a failed read), not left for the reclaimer
// (ClaimIdle, an hour here): go-redis does not run that pipeline again,
// which would read from ">" and never get them.
func TestReadThatTimedOutIsNotLostUntilReclaim(t *testing.T) {
	shared, prefix := redistest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var armed, stalled atomic.Bool
	rdb := redis.NewClient(&redis.Options{
		Addr: shared.Options().Addr, ReadTimeout: 1100 * time.Millisecond, MaxRetryBackoff: time.Millisecond,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			cn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &stallConn{Conn: cn, armed: &armed, stalled: &stalled}, nil
		},
	})
	t.Cleanup(func() { _ = rdb.Close() })
	c := New(rdb, Options{
		Stream: prefix + "{s}:stream", Group: "g", Consumer: "test", Block: 100 * time.Millisecond,
		ClaimIdle: time.Hour, Logger: zerolog.Nop(),
		AfterRead: func(ctx context.Context, pipe redis.Pipeliner) func(context.Context) context.Context {
			pipe.Get(ctx, prefix+"{s}:marker")
			return func(ctx context.Context) context.Context { return ctx }
		},
	})
	if !c.afterRead {
		t.Fatal("AfterRead is not used with this client")
	}
	if err := c.createGroup(ctx); err != nil {
		t.Fatal(err)
	}
	add(t, c, "one", "two")
	armed.Store(true)
	r := &recorder{}
	run(t, c, r.handle)
	waitFor(t, "the entries the read that timed out delivered", func() bool { return r.count("one") == 1 && r.count("two") == 1 })
	if !stalled.Load() {
		t.Fatal("no read stalled")
	}
	add(t, c, "three")
	waitFor(t, "a later entry", func() bool { return r.count("three") == 1 })
	if got := r.order(); len(got) != 3 {
		t.Fatalf("handled %v, want one, two, three once each", got)
	}
}

// isAck: the command runs ackScript (by SHA or source).
func isAck(c redis.Cmder) bool {
	s := redistest.Script(c)
	return s != "" && (s == ackScript.Hash() || strings.Contains(s, "redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 3))"))
}

// acks counts the round trips holding an acknowledgement, alone and with
// a read of new entries, and the acknowledgements riding a read that
// failed (another test's SCRIPT FLUSH: each is then made again alone, an
// EVALSHA and an EVAL).
func acks(trips *redistest.Trips) (alone, withRead, failedRides int) {
	for _, trip := range trips.Named(func(c redis.Cmder) string {
		switch {
		case isAck(c) && c.Err() != nil:
			return "ack failed"
		case isAck(c):
			return "ack"
		}
		return c.Name()
	}) {
		ack := slices.Contains(trip, "ack") || slices.Contains(trip, "ack failed")
		switch {
		case ack && slices.Contains(trip, "xreadgroup"):
			withRead++
			if slices.Contains(trip, "ack failed") {
				failedRides++
			}
		case ack:
			alone++
		}
	}
	return alone, withRead, failedRides
}

// TestAckRidesTheNextRead: a worker acknowledges a handled batch in the
// pipeline of its next read, not in a round trip of its own, where the
// client can pipeline a blocking read; where it cannot (a read timeout
// shorter than Block), in a round trip before the read. Either way every
// message ends acknowledged and deleted, handled once.
func TestAckRidesTheNextRead(t *testing.T) {
	for _, tc := range []struct {
		name        string
		readTimeout time.Duration
		pipelined   bool
	}{{"pipelined", 0, true}, {"read timeout under Block", 20 * time.Millisecond, false}} {
		t.Run(tc.name, func(t *testing.T) {
			shared, prefix := redistest.New(t)
			rdb := redis.NewClient(&redis.Options{Addr: shared.Options().Addr, ReadTimeout: tc.readTimeout})
			t.Cleanup(func() { _ = rdb.Close() })
			trips := &redistest.Trips{}
			rdb.AddHook(trips)
			c := New(rdb, Options{Stream: prefix + "{s}:stream", Group: "g", Consumer: "test", Block: 50 * time.Millisecond, Logger: zerolog.Nop()})
			if c.pipelined != tc.pipelined {
				t.Fatalf("pipelined %v, want %v", c.pipelined, tc.pipelined)
			}
			r := &recorder{}
			stop := run(t, c, r.handle)
			names := []string{"a", "b", "c", "d", "e"}
			for i, n := range names {
				add(t, c, n)
				waitFor(t, n+" handled", func() bool { return len(r.order()) == i+1 })
			}
			waitFor(t, "nothing pending", func() bool { return pending(t, c) == 0 })
			if n, err := c.Backlog(context.Background()); err != nil || n != 0 {
				t.Fatalf("stream length %d (%v), want 0", n, err)
			}
			if got := strings.Join(r.order(), ","); got != strings.Join(names, ",") {
				t.Fatalf("handled %s", got)
			}
			stop() // every pipeline has its replies (the worker's last read carried the last batch's acknowledgement)
			alone, withRead, failed := acks(trips)
			if tc.pipelined && (alone > 2*failed || withRead < len(names)) {
				t.Fatalf("%d acknowledgements in a round trip of their own (%d rides failed), %d with a read; want none but the failed rides' and %d", alone, failed, withRead, len(names))
			}
			if !tc.pipelined && (withRead != 0 || alone < len(names)) {
				t.Fatalf("%d acknowledgements alone, %d with a read; want %d and 0", alone, withRead, len(names))
			}
		})
	}
}

// TestLastBatchIsAcknowledgedOnStop: a batch handled just as the worker
// is stopped is acknowledged before Run returns (it has no next read to
// ride on), not left pending to be handled again.
func TestLastBatchIsAcknowledgedOnStop(t *testing.T) {
	c, _ := newConsumer(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var handled atomic.Int64
	done := make(chan error, 1)
	add(t, c, "last")
	go func() {
		done <- c.Run(ctx, func(_ context.Context, msgs []Message) []error {
			handled.Add(int64(len(msgs)))
			cancel() // the worker stops right after this batch
			return make([]error, len(msgs))
		})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if handled.Load() != 1 {
		t.Fatalf("handled %d messages, want 1", handled.Load())
	}
	if p := pending(t, c); p != 0 {
		t.Fatalf("%d pending after Run returned, want 0", p)
	}
	if n, err := c.Backlog(context.Background()); err != nil || n != 0 {
		t.Fatalf("stream length %d (%v), want 0", n, err)
	}
}

// TestAckAfterScriptFlush: an acknowledgement riding on a read after the
// script cache was flushed (NOSCRIPT) is made again, loading the script.
func TestAckAfterScriptFlush(t *testing.T) {
	c, rdb := newConsumer(t, Options{})
	if !c.pipelined {
		t.Fatal("the test client does not pipeline reads")
	}
	r := &recorder{decide: func(string, int) error {
		return rdb.ScriptFlush(context.Background()).Err()
	}}
	run(t, c, r.handle)
	add(t, c, "a", "b")
	waitFor(t, "both handled", func() bool { return len(r.order()) >= 2 })
	waitFor(t, "nothing pending", func() bool { return pending(t, c) == 0 })
	if n, err := c.Backlog(context.Background()); err != nil || n != 0 {
		t.Fatalf("stream length %d (%v), want 0", n, err)
	}
	if r.count("a") != 1 || r.count("b") != 1 {
		t.Fatalf("handled %v, want a and b once", r.order())
	}
}
