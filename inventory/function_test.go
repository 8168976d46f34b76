package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// sellLines applies one new line of SKU "F" per id, each alone and then
// all in one call, and checks every one applied.
func sellLines(t *testing.T, l *Ledger, ids ...string) {
	t.Helper()
	ctx := context.Background()
	var batch []LineState
	for _, id := range ids {
		one := LineState{Channel: "c", OrderID: id, LineID: "1", SKU: "F", Location: "A", Ordered: 1, Version: 1}
		r, err := l.ApplyLines(ctx, []LineState{one})
		if err != nil || !r[0].Applied {
			t.Fatalf("line of %s: %+v %v", id, r, err)
		}
		two := one
		two.LineID = "2"
		batch = append(batch, two)
	}
	applyAll(t, l, batch)
}

// applyAll applies lines in one call and checks every one applied.
func applyAll(t *testing.T, l *Ledger, lines []LineState) {
	t.Helper()
	res, err := l.ApplyLines(context.Background(), lines)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !r.Applied {
			t.Fatalf("line %d of %d: %+v", i, len(lines), r)
		}
	}
}

// TestLinesRunAsFunctions: on Redis 7 the order-line code runs as a Function
// (FCALL; no EVALSHA or EVAL of it), loaded by LoadFunctions or by the first
// call that finds it missing, also after FUNCTION FLUSH (a flushed or new
// server), in single calls and in shared pipelines.
func TestLinesRunAsFunctions(t *testing.T) {
	rdb := redistest.StartPersistent(t).Client(t)
	ctx := context.Background()
	l := New(rdb, Options{Prefix: "fn:"})
	receive(t, l, "F", "A", 1000)
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	sellLines(t, l, "o1", "o2") // loaded on first use
	calls := commandCalls(t, rdb)
	// 3 lines, and the first again after loading (the EVALs are the push
	// intent marks, intent_mark.lua, always by EVAL).
	if calls["fcall"] != 3+1 || calls["evalsha"] != 0 || calls["function|load"] != 1 {
		t.Errorf("first lines: %v; want 4 FCALL (one refused, loaded, again), 1 FUNCTION LOAD, no EVALSHA", calls)
	}
	if err := l.FunctionsErr(); err != nil {
		t.Fatal(err)
	}
	libs, err := rdb.FunctionList(ctx, redis.FunctionListQuery{}).Result()
	if err != nil || len(libs) != 1 || libs[0].Name != l.line.name || len(libs[0].Functions) != 1 || libs[0].Functions[0].Name != l.line.name {
		t.Fatalf("libraries %+v %v; want the one %s", libs, err, l.line.name)
	}

	for _, flush := range []bool{false, true} {
		if flush {
			if err := rdb.FunctionFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		} else if err := l.LoadFunctions(ctx); err != nil {
			t.Fatal(err)
		}
		if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		sellLines(t, l, fmt.Sprint("p", flush), fmt.Sprint("q", flush))
		calls := commandCalls(t, rdb)
		want := int64(3)
		if flush {
			want = 4 // the first refused, then loaded
		}
		if calls["fcall"] != want || calls["evalsha"] != 0 {
			t.Errorf("flushed %v: %v; want %d FCALL, no EVALSHA", flush, calls, want)
		}
	}
	mustVerify(t, l, nil)
	s, err := l.Stock(ctx, "F")
	if err != nil || s.Locations["A"].Reserved != 12 {
		t.Fatalf("stock %+v %v; want 12 reserved at A after 12 lines of 1", s, err)
	}
}

// TestFunctionsOffWhenRefused: a server that refuses Functions (here an ACL
// user denied FUNCTION and FCALL; Redis 6 and miniredis answer unknown
// command) turns them off for the ledger, whose lines then run as scripts
// and are applied as before; LoadFunctions says why.
func TestFunctionsOffWhenRefused(t *testing.T) {
	for _, deny := range []string{"-function", "-fcall"} {
		t.Run(deny, func(t *testing.T) {
			srv := redistest.StartPersistent(t)
			admin := srv.Client(t)
			ctx := context.Background()
			if err := admin.Do(ctx, "ACL", "SETUSER", "shelfsync", "on", ">pw", "~*", "&*", "+@all", deny).Err(); err != nil {
				t.Fatal(err)
			}
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "shelfsync", Password: "pw"})
			t.Cleanup(func() { _ = rdb.Close() })
			l := New(rdb, Options{Prefix: "off:"})
			receive(t, l, "F", "A", 10)
			sellLines(t, l, "o1", "o2")
			if err := l.FunctionsErr(); !errors.Is(err, ErrNoFunctions) || !strings.Contains(err.Error(), "NOPERM") {
				t.Fatalf("FunctionsErr = %v; want ErrNoFunctions with the server's NOPERM", err)
			}
			if err := l.LoadFunctions(ctx); !errors.Is(err, ErrNoFunctions) {
				t.Fatalf("LoadFunctions = %v; want ErrNoFunctions", err)
			}
			calls := commandCalls(t, admin)
			if calls["evalsha"] < 2 {
				t.Errorf("%v: want the lines by EVALSHA", calls)
			}
			mustVerify(t, l, nil)
		})
	}
}

// TestFunctionsOffOnMiniredis: the demo's store has no Functions; the
// ledger finds out on its first line and runs scripts from then on.
func TestFunctionsOffOnMiniredis(t *testing.T) {
	e := embedded(t)
	l := e.ledger(Options{})
	if err := l.LoadFunctions(context.Background()); !errors.Is(err, ErrNoFunctions) {
		t.Fatalf("LoadFunctions on miniredis = %v; want ErrNoFunctions", err)
	}
	l = e.ledger(Options{}) // a ledger that finds out by its first line
	receive(t, l, "F", "A", 10)
	sellLines(t, l, "o1", "o2")
	if err := l.FunctionsErr(); !errors.Is(err, ErrNoFunctions) {
		t.Fatalf("FunctionsErr = %v; want ErrNoFunctions", err)
	}
	mustVerify(t, l, nil)
}

// replyErr is a server's error reply, as go-redis returns one.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

// TestLoadRefused: only a refusal for good turns the functions off; a
// server busy for now (loading, a failover in progress) or not reached is
// tried again by the next call.
func TestLoadRefused(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{replyErr("ERR unknown command 'FUNCTION', with args beginning with: 'LOAD'"), true},
		{replyErr("ERR Error registering functions: user_function:3: bad"), true},
		{replyErr("NOPERM User shelfsync has no permissions to run the 'function|load' command"), true},
		{fmt.Errorf("wrapped: %w", replyErr("NOPERM this user has no permissions")), true},
		{replyErr("LOADING Redis is loading the dataset in memory"), false},
		{replyErr("READONLY You can't write against a read only replica."), false},
		{replyErr("CLUSTERDOWN The cluster is down"), false},
		{replyErr("BUSY Redis is busy running a script."), false},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), false},
		{context.DeadlineExceeded, false},
	} {
		if got := loadRefused(c.err); got != c.want {
			t.Errorf("loadRefused(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestNewFunctionNeedsItsEntry: code that does not end with its entry
// function is refused when the ledger is built, not on some later run.
func TestNewFunctionNeedsItsEntry(t *testing.T) {
	for _, src := range []string{
		"local x = 1\n",
		"local function line(keys, args)\n  return 1\nend\nlocal y = 2\n",
		"local function line(keys)\n  return 1\nend\n",
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("newFunction accepted %q", src)
				}
			}()
			newFunction("t", "line", "\n", src)
		}()
	}
	f := newFunction("t", "line", "\n", "local function line(keys, args)\n  return keys[1] .. args[1]\nend\n")
	if !strings.HasPrefix(f.name, "shelfsync_t_") || !strings.Contains(f.code, "redis.register_function('"+f.name+"', line)") {
		t.Fatalf("library %s:\n%s", f.name, f.code)
	}
	rdb := redistest.StartPersistent(t).Client(t)
	ctx := context.Background()
	if v, err := f.script.Run(ctx, rdb, []string{"k"}, "a").Result(); err != nil || v != "ka" {
		t.Fatalf("script form: %v %v", v, err)
	}
	if err := rdb.FunctionLoad(ctx, f.code).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.FCall(ctx, f.name, []string{"k"}, "a").Result(); err != nil || v != "ka" {
		t.Fatalf("function: %v %v", v, err)
	}
}

// TestLinesRunAsFunctionsOnCluster: on a Redis Cluster LoadFunctions loads
// the library on every primary, order lines spread over all of them run
// by FCALL alone (also through the per-node pipelines that wait for a
// replica), and a primary that lost the library (FUNCTION FLUSH) has it
// loaded again by the first line that finds it missing.
func TestLinesRunAsFunctionsOnCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	cc := c.Client(t)
	ctx := context.Background()
	for _, replicas := range []int{0, 1} {
		t.Run(fmt.Sprint("min_replicas=", replicas), func(t *testing.T) {
			l := New(cc, Options{Prefix: redistest.Prefix(), MinReplicas: replicas, ReplicaTimeout: 2 * time.Second})
			if err := l.LoadFunctions(ctx); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var nodes []*redis.Client
			if err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
				mu.Lock()
				defer mu.Unlock()
				nodes = append(nodes, c)
				return nil
			}); err != nil || len(nodes) != 3 {
				t.Fatalf("%d primaries (%v), want 3", len(nodes), err)
			}
			primaries := func(fn func(c *redis.Client)) {
				for _, c := range nodes {
					fn(c)
				}
			}
			primaries(func(c *redis.Client) {
				libs, err := c.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: l.line.name}).Result()
				if err != nil || len(libs) != 1 {
					t.Errorf("%s: libraries %+v %v", c.Options().Addr, libs, err)
				}
			})
			var lines []LineState
			for i := range 40 {
				sku := fmt.Sprintf("FC-%02d", i)
				receive(t, l, sku, "A", 5)
				lines = append(lines, LineState{Channel: "c", OrderID: "o1", LineID: sku, SKU: sku, Location: "A", Ordered: 1, Version: 1})
			}
			apply := func(order string) {
				t.Helper()
				for i := range lines {
					lines[i].OrderID = order
				}
				applyAll(t, l, lines)
			}
			primaries(func(c *redis.Client) { _ = c.ConfigResetStat(ctx).Err() })
			apply("o1")
			primaries(func(c *redis.Client) {
				calls := commandCalls(t, c)
				if calls["fcall"] == 0 || calls["evalsha"] != 0 || calls["function|load"] != 0 {
					t.Errorf("%s: %v; want FCALLs only, nothing loaded again", c.Options().Addr, calls)
				}
			})
			flushed := c.Primary(t, l.keys("FC-00").stock).Client(t)
			if err := flushed.FunctionFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			apply("o2")
			if libs, err := flushed.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: l.line.name}).Result(); err != nil || len(libs) != 1 {
				t.Fatalf("flushed primary after a line: libraries %+v %v", libs, err)
			}
			if err := l.FunctionsErr(); err != nil {
				t.Fatal(err)
			}
			mustVerify(t, l, nil)
		})
	}
}
