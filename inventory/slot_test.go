package inventory

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// clusterSlot is Redis Cluster's key slot: CRC16/XMODEM of the hash tag (the
// part between the first '{' and the next '}', if not empty) mod 16384.
func clusterSlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for k := 0; k < len(key); k++ {
		crc ^= uint16(key[k]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

func TestClusterSlotFunction(t *testing.T) {
	// Reference values from the Redis Cluster specification and CLUSTER KEYSLOT.
	for key, want := range map[string]int{
		"123456789":              0x31C3 % 16384,
		"foo":                    12182,
		"bar":                    5061,
		"hello":                  866,
		"somekey":                11058,
		"{user1000}.following":   clusterSlot("user1000"),
		"foo{}{bar}":             clusterSlot("foo{}{bar}"),
		"{}x":                    clusterSlot("{}x"),
		"somekey{tag}rest":       clusterSlot("tag"),
		"{tag}":                  clusterSlot("tag"),
		"a{b}c":                  clusterSlot("b"),
		"prefix:s:{SKU-1}":       clusterSlot("SKU-1"),
		"prefix:k:{SKU-1}op{x}":  clusterSlot("SKU-1"),
		"prefix:s:{~7b7d}":       clusterSlot("~7b7d"),
		"user:{}:{not-the-tag}":  clusterSlot("user:{}:{not-the-tag}"),
		"{user:1000}:followers!": clusterSlot("user:1000"),
	} {
		if got := clusterSlot(key); got != want {
			t.Errorf("slot(%q) = %d, want %d", key, got, want)
		}
	}
	if clusterSlot("foo{}{bar}") == clusterSlot("bar") {
		t.Error("an empty first tag must hash the whole key")
	}
}

// monitorLine matches MONITOR output of a command run inside a script on
// the test's database.
var monitorLine = regexp.MustCompile(`^\+?\d+\.\d+ \[(\d+) lua\] "([A-Za-z]+)" "((?:[^"\\]|\\.)*)"`)

// scriptCommands lists the commands the embedded scripts call.
func scriptCommands() map[string]bool {
	out := map[string]bool{}
	// redis.call, or a local alias of it named call
	call := regexp.MustCompile(`\bcall\('([A-Z]+)'`)
	for _, src := range []string{luaLib, luaMoveLib, luaLine, luaDelta, luaCountLib, luaCount, luaCountBulk, luaMark, luaClear, luaReorder, luaSigAck, luaSigState, luaReorderDefault, luaSigEval} {
		for _, m := range call.FindAllStringSubmatch(src, -1) {
			out[m[1]] = true
		}
	}
	return out
}

// TestScriptsTouchOneSlot runs every operation, one script run at a time,
// on the real Redis under MONITOR, lists every key each run touched, and
// proves they all hash to one Cluster slot: the SKU's (or the intents'
// for the intent scripts). It also checks the runs reached every command
// the scripts contain, so no path went unlisted.
func TestScriptsTouchOneSlot(t *testing.T) {
	const db = 13 // MONITOR shows the db: other tests' scripts run on db 0
	base := realRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(), DB: db})
	e := &testEnv{name: "redis-db13", rdb: rdb, prefix: base.prefix, clock: base.clock}
	t.Cleanup(func() { redistest.Clean(rdb, e.prefix); _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	conn, err := net.Dial("tcp", redistest.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1<<16)
	go func() { // ends when conn is closed
		defer close(lines)
		sc := bufio.NewScanner(conn)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	seen := map[string]bool{}
	marker := 0
	// window runs op, then waits for a marker and returns the keys every
	// script command in between touched.
	window := func(name string, op func() error) []string {
		t.Helper()
		if err := op(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		marker++
		m := fmt.Sprintf("slot-marker-%s-%d", e.prefix, marker)
		if err := rdb.Echo(ctx, m).Err(); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for {
			select {
			case ln, ok := <-lines:
				if !ok {
					t.Fatal("monitor connection closed")
				}
				if strings.Contains(ln, m) {
					return keys
				}
				if sm := monitorLine.FindStringSubmatch(ln); sm != nil && sm[1] == fmt.Sprint(db) {
					seen[strings.ToUpper(sm[2])] = true
					keys = append(keys, sm[3])
				}
			case <-ctx.Done():
				t.Fatalf("%s: marker never seen", name)
			}
		}
	}
	oneSlot := func(name, tag string, keys []string) {
		t.Helper()
		if len(keys) == 0 {
			t.Fatalf("%s: no script command seen", name)
		}
		want := clusterSlot(tag)
		for _, k := range keys {
			if !strings.HasPrefix(k, e.prefix) {
				t.Errorf("%s: key %q outside the ledger's prefix", name, k)
			}
			if got := clusterSlot(k); got != want {
				t.Errorf("%s: key %q in slot %d, want %d (tag %q)", name, k, got, want, tag)
			}
		}
	}

	l := e.ledger(Options{OperationTTL: time.Hour, LineTTL: time.Hour, NoIntents: true})
	withIntents := e.ledger(Options{OperationTTL: time.Hour, LineTTL: time.Hour})
	for _, sku := range []string{"SLOT-1", "we{ir}d", "~x"} {
		tag := keySKU(sku)
		ln := func(order string, o, c, v int64, loc string, cands ...string) func() error {
			return func() error {
				_, err := l.ApplyLines(ctx, []LineState{{Channel: "c", OrderID: order, LineID: "1", SKU: sku, Location: loc, Candidates: cands, Ordered: o, Cancelled: c, Version: v}})
				return err
			}
		}
		ops := []struct {
			name string
			op   func() error
		}{
			{"line on unknown SKU", ln("0", 1, 0, 1, "A")},
			{"receive", func() error {
				_, err := l.Receive(ctx, Delta{Key: "r", SKU: sku, Location: "A", Quantity: 5})
				return err
			}},
			{"receive repeat", func() error {
				_, err := l.Receive(ctx, Delta{Key: "r", SKU: sku, Location: "A", Quantity: 5})
				return err
			}},
			{"reorder point (signals)", func() error {
				_, err := l.SetReorder(ctx, Reorder{SKU: sku, Location: "A", Point: 10}, "test") // below it: stock.low at once
				return err
			}},
			{"signal ack", func() error { return l.AckSignals(ctx, sku, 1) }},
			{"adjust", func() error {
				_, err := l.Adjust(ctx, Delta{Key: "a", SKU: sku, Location: "B", Quantity: 2, Reason: "found"})
				return err
			}},
			{"count", func() error {
				_, err := l.SetCount(ctx, Count{SKU: sku, Location: "A", Quantity: 6, Version: 1})
				return err
			}},
			{"count stale", func() error {
				_, err := l.SetCount(ctx, Count{SKU: sku, Location: "A", Quantity: 6, Version: 1})
				return err
			}},
			{"line chosen", ln("1", 3, 0, 1, "", "B", "A")},
			{"two lines in one run", func() error {
				_, err := l.ApplyLines(ctx, []LineState{
					{Channel: "c", OrderID: "r", LineID: "1", SKU: sku, Location: "A", Ordered: 1, Version: 1},
					{Channel: "c", OrderID: "r", LineID: "2", SKU: sku, Candidates: []string{"B", "A"}, Ordered: 1, Version: 1},
				})
				return err
			}},
			{"line duplicate", ln("1", 3, 0, 1, "", "B", "A")},
			{"line closed", ln("1", 3, 3, 2, "", "B", "A")},
			{"line reopened", ln("1", 3, 1, 3, "", "B", "A")},
			{"line closed again", ln("1", 3, 3, 4, "", "B", "A")},
			{"time passes", func() error { e.clock.Advance(2 * time.Hour); return nil }},
			{"closing prunes", ln("2", 1, 1, 1, "A")},
			{"strict refused", func() error {
				_, err := l.ApplyLines(ctx, []LineState{{Channel: "c", OrderID: "3", LineID: "1", SKU: sku, Location: "A", Ordered: 99, Version: 1, Strict: true}})
				return err
			}},
			{"return", func() error {
				_, err := l.Return(ctx, ReturnOp{Key: "ret", SKU: sku, Location: "A", Quantity: 1, Restock: true})
				return err
			}},
		}
		for _, o := range ops {
			keys := window(o.name, o.op)
			if o.name == "time passes" {
				continue
			}
			// A run that appended a signal event is followed by the mark of
			// its SKU in the pending signals index: a script of its own, on
			// the index's slot.
			// The first reorder point set records it in the defaults hash
			// (configureSignals): a script of its own, on the defaults' slot.
			var own, index, defaults []string
			for _, k := range keys {
				switch {
				case strings.HasPrefix(k, e.prefix+"{signals}"):
					index = append(index, k)
				case strings.HasPrefix(k, e.prefix+"{reorder-defaults}"):
					defaults = append(defaults, k)
				default:
					own = append(own, k)
				}
			}
			oneSlot(sku+": "+o.name, tag, own)
			if len(index) > 0 {
				oneSlot(sku+": "+o.name+" (signal index)", "signals", index)
			}
			if len(defaults) > 0 {
				oneSlot(sku+": "+o.name+" (reorder defaults)", "reorder-defaults", defaults)
			}
		}
		keys := window("return on unknown SKU", func() error {
			_, err := l.Return(ctx, ReturnOp{Key: "ret", SKU: sku + "-none", Location: "A", Quantity: 1, Restock: true})
			if errors.Is(err, ErrUnknownSKU) {
				return nil
			}
			return err
		})
		oneSlot(sku+": return on unknown SKU", keySKU(sku+"-none"), keys)
	}
	// A bulk count runs the counts of SKUs sharing a slot together.
	same := sameSlotSKUs(t, 3)
	oneSlot("bulk counts", keySKU(same[0]), window("bulk counts", func() error {
		var counts []Count
		for i, sku := range same {
			counts = append(counts, Count{SKU: sku, Location: "A", Quantity: int64(i), Version: 1}, Count{SKU: sku, Location: "B", Quantity: 1, Version: 1})
		}
		_, err := l.SetCounts(ctx, counts)
		return err
	}))
	// The default reorder points live in a slot of their own; a run that
	// evaluates signals with them touches only the SKU's (they come in as
	// an argument). The re-evaluation pass over every SKU runs on a real
	// Cluster in TestClusterReorderDefaults.
	oneSlot("default reorder point", "reorder-defaults", window("default reorder point", func() error {
		_, err := l.SetReorderDefault(ctx, ReorderDefault{Location: AllLocations, Point: 3}, "test")
		return err
	}))
	oneSlot("line with default reorder points", keySKU("SLOT-1"), window("line with default reorder points", func() error {
		_, err := l.ApplyLines(ctx, []LineState{{Channel: "c", OrderID: "d", LineID: "1", SKU: "SLOT-1", Location: "A", Ordered: 1, Version: 1}})
		return err
	}))
	// A replica whose copy of the defaults is older than the SKU's leaves
	// it to the sweeper (a field in its reorder hash, and the mark, on the
	// index's slot); the sweeper's evaluation touches the SKU's slot.
	stale := e.ledger(Options{OperationTTL: time.Hour, LineTTL: time.Hour, NoIntents: true, ReorderDefaultsRefresh: time.Hour})
	if _, err := stale.RefreshReorderDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	oneSlot("default reorder point changed", "reorder-defaults", window("default reorder point changed", func() error {
		_, err := l.SetReorderDefault(ctx, ReorderDefault{Location: AllLocations, Point: 4}, "test")
		return err
	}))
	oneSlot("line with the new defaults", keySKU("SLOT-1"), window("line with the new defaults", func() error {
		_, err := l.ApplyLines(ctx, []LineState{{Channel: "c", OrderID: "d", LineID: "1", SKU: "SLOT-1", Location: "A", Ordered: 2, Version: 2}})
		return err
	}))
	var own, index []string
	for _, k := range window("line with older defaults", func() error {
		_, err := stale.ApplyLines(ctx, []LineState{{Channel: "c", OrderID: "d", LineID: "1", SKU: "SLOT-1", Location: "A", Ordered: 3, Version: 3}})
		return err
	}) {
		if strings.HasPrefix(k, e.prefix+"{signals}") {
			index = append(index, k)
		} else {
			own = append(own, k)
		}
	}
	oneSlot("line with older defaults", keySKU("SLOT-1"), own)
	oneSlot("line with older defaults (signal index)", "signals", index)
	own, index = nil, nil
	for _, k := range window("evaluation left to the sweeper", func() error { return l.EvaluateMarked(ctx, []string{"SLOT-1"}) }) {
		if strings.HasPrefix(k, e.prefix+"{signals}") {
			index = append(index, k)
		} else {
			own = append(own, k)
		}
	}
	oneSlot("evaluation left to the sweeper", keySKU("SLOT-1"), own)
	if len(index) > 0 {
		oneSlot("evaluation left to the sweeper (signal index)", "signals", index)
	}
	// The intent scripts touch only the intents' slot.
	oneSlot("intent mark", "intents", window("intent mark", func() error {
		return withIntents.markIntents(ctx, rdb, []string{"SLOT-1", "we{ir}d"}).Err()
	}))
	var in []Intent
	_ = window("read intents", func() (err error) { in, err = withIntents.PendingIntents(ctx, 10); return err })
	if len(in) != 2 {
		t.Fatalf("intents %+v", in)
	}
	oneSlot("intent clear", "intents", window("intent clear", func() error { return withIntents.ClearIntent(ctx, in[0]) }))

	// So do the signal index's: the sweeper's clear and state record.
	var marks []Intent
	_ = window("read signal marks", func() (err error) { marks, err = withIntents.SignalMarks(ctx, 10); return err })
	if len(marks) == 0 {
		t.Fatal("no SKU marked in the pending signals index")
	}
	oneSlot("signal state", "signals", window("signal state", func() error {
		return withIntents.RecordSignalState(ctx, marks[0].SKU, 1, "low")
	}))
	oneSlot("signal mark clear", "signals", window("signal mark clear", func() error { return withIntents.ClearSignalMark(ctx, marks[0]) }))

	for cmd := range scriptCommands() {
		if !seen[cmd] {
			t.Errorf("no operation reached the scripts' %s: its keys went unchecked", cmd)
		}
	}
	t.Logf("script commands checked: %v", sortedSet(seen))
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
