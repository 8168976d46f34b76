package inventory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Default reorder points. A location may have a default reorder point (and
// quantity), and so may every location (AllLocations, "*"). A SKU's
// effective point is the sum, over the locations it has its own point at,
// of those points, plus, over the other locations in its stock hash (it
// has figures there, zero included: every location it was ever received,
// counted, adjusted or sold at), the location's default, else the "*"
// default. A SKU with neither own points nor a default at any of its
// locations has no signals. The quantity sums the same way (nil when none
// of the parts has one).
//
// Redis Cluster: the defaults are one hash of their own ({reorder-defaults}
// hash tag), so no stock script may read them. Each Ledger keeps a copy
// and passes it into every script that evaluates signals (lib.lua sigdefs),
// refreshed in the background when it is older than
// Options.ReorderDefaultsRefresh (default 1 s): at most one HGETALL a
// second per ledger, not on a busy ledger's round trips (the call that
// finds the copy old uses it and starts the refresh). A call that finds it
// older than twice the period (a ledger idle that long) waits for the
// refresh: so no run carries a copy read long before the change a
// re-evaluation pass has already settled. When that read fails, the
// scripts get '?' (unknown) instead of the old copy. The copy carries the
// defaults' version; the scripts record in the SKU's reorder hash the
// version its state was last evaluated with; a run with an older one (or
// '?') does not move the state, so a replica that has not refreshed yet
// never undoes what one that has did, and leaves the SKU to the signal
// sweeper instead (field re, and a mark in the pending signals index),
// which evaluates it again with defaults it reads then (EvaluateMarked):
// the crossing that run may have made is announced, once, within a sweep.
// A change records a re-evaluation, due once every
// replica can have refreshed (ReorderDefaultsSettle after it): the sweeper
// (or the CLI that made the change) then evaluates every SKU once
// (ReevaluateIfDue), so a SKU the change itself takes below (or back above)
// its point gets its events then, exactly once.
//
// Until a reorder point is set for the first time (a SKU's own, or a
// default), no SKU can have a signal state, so the stock scripts skip the
// signals (their keys, the read of the SKU's reorder hash): the defaults
// hash's field cfg says one was ever set (it is never cleared), and the
// defaults argument is "" until then (ReorderDefaults.Configured). The
// first point set also bumps the version and records a re-evaluation,
// like a change of the defaults: replicas whose copy does not have cfg yet
// skip the signals of runs made until the copy is refreshed, and the pass
// after ReorderDefaultsSettle evaluates those SKUs.

// AllLocations is the location of the default that applies at every
// location without a default of its own.
const AllLocations = "*"

// DefaultReorderDefaultsRefresh is how old a ledger's copy of the default
// reorder points may get before it is refreshed.
const DefaultReorderDefaultsRefresh = time.Second

// ReorderDefault is a location's default reorder point (and quantity).
type ReorderDefault struct {
	Location string `json:"location"` // a config location or "*"
	Point    int64  `json:"reorder_point"`
	Qty      *int64 `json:"reorder_qty,omitempty"`
	Line     int    `json:"-"` // the file's line (ParseReorderDefaultsCSV)
}

// ReorderDefaults are the default reorder points and their version (it
// grows with every change; 0: never set).
type ReorderDefaults struct {
	Version  int64                     `json:"version"`
	Defaults map[string]ReorderDefault `json:"-"`
	// Due is when the re-evaluation of the last change is due (zero: none
	// pending).
	Due time.Time `json:"reevaluation_due,omitempty"`
	// Configured says a reorder point (a SKU's own or a default) was set
	// at least once: until then the stock scripts skip the signals.
	Configured bool `json:"signals_configured"`
}

// List returns the defaults sorted by location.
func (d ReorderDefaults) List() []ReorderDefault {
	out := make([]ReorderDefault, 0, len(d.Defaults))
	for _, r := range d.Defaults {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Location < out[j].Location })
	return out
}

// arg encodes d as lib.lua sigdefs reads it: "" when no reorder point
// was ever set (the stock scripts then skip the signals: stockSignals),
// else "<version>;" then "<#location>:<location><point>,<qty>;" per
// default.
func (d ReorderDefaults) arg() string {
	if !d.Configured || d.Version == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(strconv.FormatInt(d.Version, 10))
	b.WriteByte(';')
	for _, r := range d.List() {
		b.WriteString(strconv.Itoa(len(r.Location)))
		b.WriteByte(':')
		b.WriteString(r.Location)
		b.WriteString(strconv.FormatInt(r.Point, 10))
		b.WriteByte(',')
		if r.Qty != nil {
			b.WriteString(strconv.FormatInt(*r.Qty, 10))
		}
		b.WriteByte(';')
	}
	return b.String()
}

// EffectiveReorder resolves a SKU's reorder setting as the scripts do:
// own is its own setting (ReorderOf), locations the locations it has
// figures at, defaults the default points by location. The result's
// Locations are its own points plus, for each of those locations without
// an own point, the default that applies there (Default names it: the
// location or "*"); Point and Qty are their sums. ok is false when no
// point applies (no signals).
func EffectiveReorder(own ReorderSetting, locations []string, defaults map[string]ReorderDefault) (ReorderSetting, bool) {
	out := ReorderSetting{SKU: own.SKU, State: own.State}
	has := map[string]bool{}
	add := func(r Reorder) {
		out.Locations = append(out.Locations, r)
		out.Point += r.Point
		if r.Qty != nil {
			q := *r.Qty
			if out.Qty != nil {
				q += *out.Qty
			}
			out.Qty = &q
		}
	}
	for _, r := range own.Locations {
		has[r.Location] = true
		add(r)
	}
	for _, loc := range locations {
		if has[loc] {
			continue
		}
		has[loc] = true
		d, ok := defaults[loc]
		if !ok {
			if d, ok = defaults[AllLocations]; !ok {
				continue
			}
		}
		add(Reorder{SKU: own.SKU, Location: loc, Point: d.Point, Qty: d.Qty, Default: d.Location})
	}
	sort.Slice(out.Locations, func(i, j int) bool { return out.Locations[i].Location < out.Locations[j].Location })
	return out, len(out.Locations) > 0
}

// defaultsKeys are the defaults hash and their journal: one slot of their
// own.
func (l *Ledger) defaultsKeys() (hash, journal string) {
	p := l.opts.Prefix + "{reorder-defaults}"
	return p, p + ":journal"
}

// defsCache is a ledger's copy of the defaults.
type defsCache struct {
	d   ReorderDefaults
	arg string
	at  time.Time // when read (zero: never)
	// failed is when a read after at failed (zero: none): a call waiting
	// for a refresh does not try again within the refresh period.
	failed time.Time
}

// defsState is the ledger's copy, whether a background refresh is
// running, and the lock the calls that wait for a refresh share (one
// read for all of them).
type defsState struct {
	cur        atomic.Pointer[defsCache]
	refreshing atomic.Bool
	wait       sync.Mutex
}

// defsUnknown is the defaults argument when the ledger has no copy it can
// use (lib.lua sigdefs '?'): the scripts leave every SKU they would
// evaluate to the sweeper.
const defsUnknown = "?"

// defsMaxAge is how old the copy may be when a call uses it: twice the
// refresh period. A busy ledger refreshes it in the background at the
// refresh period; an idle one waits for the read. ReorderDefaultsSettle
// (the re-evaluation's due time after a change) is this and a second for
// the calls already under way, so after the pass no run carries a copy
// read before the change.
func (l *Ledger) defsMaxAge() time.Duration {
	return 2 * l.opts.ReorderDefaultsRefresh
}

// defsArg is the defaults argument of a script that evaluates signals: the
// ledger's copy. A call that finds none, or one older than defsMaxAge,
// reads the defaults and waits for them (an idle ledger's first call: one
// round trip); when that read fails (or failed within the refresh period)
// it gets defsUnknown, never an old or empty copy. A call that finds the
// copy older than the refresh period starts a background refresh and uses
// the copy it has: no round trip added on a busy ledger.
func (l *Ledger) defsArg(ctx context.Context) string {
	if l.opts.NoSignals {
		return ""
	}
	c := l.defs.cur.Load()
	if c == nil {
		return l.defsArgWait(ctx)
	}
	age := time.Since(c.at)
	if age >= l.defsMaxAge() {
		return l.defsArgWait(ctx)
	}
	if age >= l.opts.ReorderDefaultsRefresh && l.defs.refreshing.CompareAndSwap(false, true) {
		go func() {
			defer l.defs.refreshing.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, _ = l.RefreshReorderDefaults(ctx)
		}()
	}
	return c.arg
}

// defsArgWait reads the defaults for a call whose copy is missing or too
// old; calls arriving meanwhile wait for the same read.
func (l *Ledger) defsArgWait(ctx context.Context) string {
	l.defs.wait.Lock()
	defer l.defs.wait.Unlock()
	c := l.defs.cur.Load()
	fresh := func(c *defsCache) bool { return c != nil && !c.at.IsZero() && time.Since(c.at) < l.defsMaxAge() }
	if !fresh(c) && (c == nil || time.Since(c.failed) >= l.opts.ReorderDefaultsRefresh) {
		// A failure is not returned: the call goes on with defsUnknown
		// (its SKUs left to the sweeper), and the next read retries.
		_, _ = l.RefreshReorderDefaults(ctx)
		c = l.defs.cur.Load()
	}
	if !fresh(c) {
		return defsUnknown
	}
	return c.arg
}

// RefreshReorderDefaults reads the defaults into the ledger's copy now
// and returns them.
func (l *Ledger) RefreshReorderDefaults(ctx context.Context) (ReorderDefaults, error) {
	d, err := l.ReorderDefaults(ctx)
	if err != nil {
		// Keep what there is (a background refresh's call uses it until it
		// is too old), noting the failure.
		now := time.Now()
		for {
			c := l.defs.cur.Load()
			n := &defsCache{failed: now}
			if c != nil {
				n.d, n.arg, n.at = c.d, c.arg, c.at
			}
			if l.defs.cur.CompareAndSwap(c, n) {
				break
			}
		}
		return d, err
	}
	l.storeDefs(d)
	return d, nil
}

// storeDefs replaces the copy unless it holds a newer version.
func (l *Ledger) storeDefs(d ReorderDefaults) {
	n := &defsCache{d: d, arg: d.arg(), at: time.Now()}
	for {
		c := l.defs.cur.Load()
		if c != nil && c.d.Version > d.Version {
			return
		}
		if l.defs.cur.CompareAndSwap(c, n) {
			return
		}
	}
}

// ReorderDefaults reads the default reorder points from Redis.
func (l *Ledger) ReorderDefaults(ctx context.Context) (ReorderDefaults, error) {
	hash, _ := l.defaultsKeys()
	m, err := l.rdb.HGetAll(ctx, hash).Result()
	if err != nil {
		return ReorderDefaults{}, fmt.Errorf("reading default reorder points: %w", err)
	}
	return decodeDefaults(m)
}

func decodeDefaults(m map[string]string) (ReorderDefaults, error) {
	d := ReorderDefaults{Defaults: map[string]ReorderDefault{}}
	if v, ok := m["v"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return ReorderDefaults{}, fmt.Errorf("default reorder points: corrupt version %q", v)
		}
		d.Version = n
	}
	_, d.Configured = m["cfg"]
	if v, ok := m["due"]; ok {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			d.Due = time.UnixMilli(ms)
		}
	}
	for f, v := range m {
		loc, ok := strings.CutPrefix(f, "d:")
		if !ok {
			continue
		}
		r, err := decodeReorder("", loc, v)
		if err != nil {
			return ReorderDefaults{}, fmt.Errorf("default reorder point at %s: corrupt %q", loc, v)
		}
		d.Defaults[loc] = ReorderDefault{Location: loc, Point: r.Point, Qty: r.Qty}
	}
	return d, nil
}

// ReorderDefaultsSettle is how long after a change of the defaults every
// replica can be evaluating with it: no call uses a copy older than twice
// the refresh period (defsMaxAge), and calls already under way carry the
// one they took, so twice the period and a second.
func (l *Ledger) ReorderDefaultsSettle() time.Duration {
	return l.defsMaxAge() + time.Second
}

func checkReorderDefault(d ReorderDefault) error {
	if err := checkLocation("location", d.Location); err != nil {
		return err
	}
	if err := checkQuantity("reorder point", d.Point); err != nil {
		return err
	}
	if d.Qty != nil {
		return checkQuantity("reorder quantity", *d.Qty)
	}
	return nil
}

// SetReorderDefault sets a location's default reorder point (location
// "*": every location without its own default), journals the change with
// source, and records the re-evaluation of every SKU, due
// ReorderDefaultsSettle from now (ReevaluateIfDue). It returns the
// previous default, nil if none. The caller checks the location is a
// config location or "*".
func (l *Ledger) SetReorderDefault(ctx context.Context, d ReorderDefault, source string) (*ReorderDefault, error) {
	if err := checkReorderDefault(d); err != nil {
		return nil, fmt.Errorf("set default reorder point: %w", err)
	}
	q := ""
	if d.Qty != nil {
		q = strconv.FormatInt(*d.Qty, 10)
	}
	return l.runDefault(ctx, d.Location, strconv.FormatInt(d.Point, 10), q, source)
}

// RemoveReorderDefault removes a location's default reorder point.
func (l *Ledger) RemoveReorderDefault(ctx context.Context, location, source string) (*ReorderDefault, error) {
	if err := checkLocation("location", location); err != nil {
		return nil, fmt.Errorf("remove default reorder point: %w", err)
	}
	return l.runDefault(ctx, location, "", "", source)
}

func (l *Ledger) runDefault(ctx context.Context, loc, point, qty, source string) (*ReorderDefault, error) {
	hash, journal := l.defaultsKeys()
	due := l.opts.Now().Add(l.ReorderDefaultsSettle()).UnixMilli()
	res, err := l.reorderDefault.Run(ctx, l.rdb, []string{hash, journal}, loc, point, qty, l.nowMS(), source, l.maxLen(), due).Slice()
	if err != nil {
		return nil, fmt.Errorf("default reorder point at %s: %w", loc, err)
	}
	if len(res) != 2 {
		return nil, fmt.Errorf("default reorder point at %s: unexpected reply %v", loc, res)
	}
	old, _ := res[0].(string)
	// This ledger's copy is current at once; the others within the
	// refresh period.
	if _, err := l.RefreshReorderDefaults(ctx); err != nil {
		return nil, err
	}
	if old == "" {
		return nil, nil
	}
	r, err := decodeReorder("", loc, old)
	if err != nil {
		return nil, err
	}
	return &ReorderDefault{Location: loc, Point: r.Point, Qty: r.Qty}, nil
}

// ReorderDefaultHistory returns the newest n changes of the defaults,
// oldest first.
func (l *Ledger) ReorderDefaultHistory(ctx context.Context, n int64) ([]ReorderChange, error) {
	_, journal := l.defaultsKeys()
	msgs, err := l.rdb.XRevRangeN(ctx, journal, "+", "-", n).Result()
	if err != nil {
		return nil, fmt.Errorf("reading the default reorder points' journal: %w", err)
	}
	return decodeReorderChanges(msgs), nil
}

// ReevaluationLease is how long a replica that took a due re-evaluation
// has it to itself: one that dies during the pass leaves it to another
// after this; a pass that takes longer is run twice, which changes nothing
// (every state is settled by the first).
const ReevaluationLease = 2 * time.Minute

// ReevaluateIfDue runs the re-evaluation a change of the defaults
// recorded, once it is due (ReorderDefaultsSettle after the change), and
// then clears it unless the defaults changed again meanwhile (that change
// has its own, later). The replica that runs it first takes it (its due
// time moves ReevaluationLease on), so the sweepers of several replicas do
// not all run the same pass. It is cheap when none is due (one HMGET): the
// signal sweeper calls it every sweep. ran says this call ran a pass; n is
// how many SKUs it evaluated.
func (l *Ledger) ReevaluateIfDue(ctx context.Context) (ran bool, n int, err error) {
	dv, ok, err := l.claimReevaluation(ctx)
	if err != nil || !ok {
		return false, 0, err
	}
	hash, _ := l.defaultsKeys()
	if n, err = l.ReevaluateSignals(ctx); err != nil {
		return true, n, err
	}
	if err := l.defaultsClear.Run(ctx, l.rdb, []string{hash}, dv).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return true, n, fmt.Errorf("clearing the pending re-evaluation: %w", err)
	}
	return true, n, nil
}

// claimReevaluation takes the pending re-evaluation when it is due: one
// HMGET, and a script that moves its due time ReevaluationLease on unless
// another replica took it (or a change replaced it) in between.
func (l *Ledger) claimReevaluation(ctx context.Context) (string, bool, error) {
	hash, _ := l.defaultsKeys()
	v, err := l.rdb.HMGet(ctx, hash, "due", "duev").Result()
	if err != nil {
		return "", false, fmt.Errorf("reading the pending re-evaluation: %w", err)
	}
	ds, _ := v[0].(string)
	dv, _ := v[1].(string)
	ms, err := strconv.ParseInt(ds, 10, 64)
	now := l.opts.Now()
	if err != nil || dv == "" || now.UnixMilli() < ms {
		return "", false, nil
	}
	got, err := l.defaultsClaim.Run(ctx, l.rdb, []string{hash}, dv, ds, now.Add(ReevaluationLease).UnixMilli()).Int()
	if err != nil {
		return "", false, fmt.Errorf("taking the pending re-evaluation: %w", err)
	}
	return dv, got == 1, nil
}

// luaDefaultsClaim moves the due time of the pending re-evaluation
// (version ARGV[1], due ARGV[2]) to ARGV[3], if it is still the one read.
const luaDefaultsClaim = `if redis.call('HGET', KEYS[1], 'duev') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'due') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'due', ARGV[3])
return 1`

// luaSignalsConfigured records that a reorder point is being set for the
// first time (field cfg): it bumps the version and records the
// re-evaluation of every SKU, due ARGV[1], as a change of the defaults
// does (reorder_default.lua). Returns the version, or 0 when cfg was
// already set (nothing changed).
const luaSignalsConfigured = `if redis.call('HEXISTS', KEYS[1], 'cfg') == 1 then return 0 end
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 'cfg', '1', 'due', ARGV[1], 'duev', v)
return v`

// configureSignals makes sure the defaults say a reorder point was set
// (cfg), before the first one is: one round trip while this ledger's copy
// does not say so yet, none after. The copy is refreshed when it did not.
func (l *Ledger) configureSignals(ctx context.Context) error {
	if l.opts.NoSignals {
		return nil
	}
	if c := l.defs.cur.Load(); c != nil && c.d.Configured {
		return nil
	}
	hash, _ := l.defaultsKeys()
	due := l.opts.Now().Add(l.ReorderDefaultsSettle()).UnixMilli()
	if err := l.signalsConfigured.Run(ctx, l.rdb, []string{hash}, due).Err(); err != nil {
		return fmt.Errorf("recording the first reorder point: %w", err)
	}
	_, err := l.RefreshReorderDefaults(ctx)
	return err
}

// stockSignals is what a stock script run (line, delta, count,
// count_bulk) takes for the signals: the defaults argument (defsArg), and
// whether it evaluates them (carries the SKU's signal keys): not with
// Options.NoSignals, nor before any reorder point was set (defs "").
func (l *Ledger) stockSignals(ctx context.Context) (defs string, on bool) {
	defs = l.defsArg(ctx)
	return defs, !l.opts.NoSignals && defs != ""
}

// luaDefaultsClear clears the pending re-evaluation of version ARGV[1].
const luaDefaultsClear = `if redis.call('HGET', KEYS[1], 'duev') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'due', 'duev')
end
return 1`

// ReevaluateSignals evaluates every SKU's signal state against its
// figures with the defaults as they are now (read first), 1,000 SKUs a
// round trip; a SKU already evaluated by a run with newer defaults is
// left alone. Returns how many SKUs it evaluated.
func (l *Ledger) ReevaluateSignals(ctx context.Context) (int, error) {
	if l.opts.NoSignals {
		return 0, nil
	}
	d, err := l.RefreshReorderDefaults(ctx)
	if err != nil {
		return 0, err
	}
	arg := d.arg()
	n := 0
	err = l.SKUs(ctx, func(skus []string) error {
		if err := l.evalSignals(ctx, skus, arg, ""); err != nil {
			return fmt.Errorf("re-evaluating stock signals: %w", err)
		}
		n += len(skus)
		return nil
	})
	return n, err
}

// evalSignals runs signal_eval.lua for each of skus, in one round trip,
// with the defaults argument arg; marked "1" evaluates only the SKUs a run
// left to the sweeper (field re), "" every one.
func (l *Ledger) evalSignals(ctx context.Context, skus []string, arg, marked string) error {
	now := l.nowMS()
	calls := make([]scriptCall, len(skus))
	for i, s := range skus {
		rkey, ekey, _ := l.signalKeys(s)
		calls[i] = scriptCall{script: l.sigeval, keys: []string{l.keys(s).stock, rkey, ekey}, sigs: []string{s}, args: []any{now, arg, marked}}
	}
	_, errs, err := l.run(ctx, nil, nil, calls)
	if err != nil {
		return err
	}
	for i, e := range errs {
		if e != nil {
			return fmt.Errorf("SKU %s: %w", skus[i], e)
		}
	}
	return nil
}

// EvaluateMarked evaluates again, with the defaults read now, each of skus
// (the marked SKUs of a sweep's page) that a run left to the sweeper: one
// whose defaults were older than the SKU's or unknown (lib.lua signal,
// field re). The others are not touched. An evaluation that appends an
// event marks its SKU again, as any run does. One HGETALL and one round
// trip for the page; nothing when skus is empty.
func (l *Ledger) EvaluateMarked(ctx context.Context, skus []string) error {
	if l.opts.NoSignals || len(skus) == 0 {
		return nil
	}
	d, err := l.RefreshReorderDefaults(ctx)
	if err != nil {
		return err
	}
	if err := l.evalSignals(ctx, skus, d.arg(), "1"); err != nil {
		return fmt.Errorf("evaluating stock signals left to the sweeper: %w", err)
	}
	return nil
}

// ParseReorderDefaultsCSV reads a file of default reorder points (header
// location,reorder_point and optionally reorder_qty; location "*" for
// every location; an empty reorder_qty is none) and checks every row: the
// location one of locations or "*", and not twice, point and quantity
// non-negative integers. It returns every bad row with its line and
// column; the caller applies nothing unless there are none.
func ParseReorderDefaultsCSV(r io.Reader, locations []string) ([]ReorderDefault, []ReorderLineError) {
	known := map[string]bool{AllLocations: true}
	for _, loc := range locations {
		known[loc] = true
	}
	var rows []ReorderDefault
	seen := map[string]int{}
	errs := readReorderCSV(r, []string{"location", "reorder_point", "reorder_qty"}, 2,
		func(rec []string, line int, bad func(key string, err error)) {
			d := ReorderDefault{Location: strings.TrimSpace(rec[0]), Line: line}
			ok := true
			fail := func(key string, err error) { ok = false; bad(key, err) }
			if err := checkLocation("location", d.Location); err != nil {
				fail("location", err)
			} else if !known[d.Location] {
				fail("location", fmt.Errorf("unknown location %q (not in config's locations, nor %q for every location)", d.Location, AllLocations))
			} else if first, dup := seen[d.Location]; dup {
				fail("location", fmt.Errorf("location %q given twice (first on line %d)", d.Location, first))
			} else {
				seen[d.Location] = line
			}
			d.Point, d.Qty = reorderFigures(rec[1:], fail)
			if ok {
				rows = append(rows, d)
			}
		})
	return rows, errs
}

// EffectiveReorderOf reads the SKU's own setting, figures and the defaults
// (three round trips) and resolves its effective setting
// (EffectiveReorder); ok is false when no point applies.
func (l *Ledger) EffectiveReorderOf(ctx context.Context, sku string) (ReorderSetting, bool, error) {
	own, _, err := l.ReorderOf(ctx, sku)
	if err != nil {
		return ReorderSetting{}, false, err
	}
	st, err := l.Stock(ctx, sku)
	if err != nil {
		return ReorderSetting{}, false, err
	}
	d, err := l.ReorderDefaults(ctx)
	if err != nil {
		return ReorderSetting{}, false, err
	}
	s, ok := EffectiveReorder(own, st.LocationIDs(), d.Defaults)
	return s, ok, nil
}
