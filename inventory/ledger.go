package inventory

import (
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Errors callers test with errors.Is.
var (
	// ErrUnknownSKU: the SKU was never created by Receive, Adjust or SetCount.
	ErrUnknownSKU = errors.New("unknown SKU")
	// ErrInsufficient: a refusing operation would need more stock than there is.
	ErrInsufficient = errors.New("insufficient stock")
	// ErrInvalid: the input was rejected before anything was sent to Redis.
	ErrInvalid = errors.New("invalid ledger input")
	// ErrOutOfRange: the movement would take a figure past ±MaxQuantity;
	// nothing changed.
	ErrOutOfRange = fmt.Errorf("figure would pass ±%d", MaxQuantity)
	// ErrKeyConflict: the operation key was already used, for the same SKU,
	// by a different request (another operation, location, quantity or
	// reason); nothing changed. A retry of the same request returns the
	// first result instead.
	// ErrNotReplicated: the write was applied on the primary, but fewer
	// replicas than Options.MinReplicas confirmed it in time; a failover
	// now could lose it. Repeating the call is safe (every operation is
	// idempotent) and waits again.
	ErrNotReplicated = errors.New("write not confirmed by enough replicas")
	ErrKeyConflict   = errors.New("operation key already used for a different request; nothing changed (send the same request again, or use a new key)")
)

// MaxQuantity bounds every quantity the ledger accepts. Lua numbers are
// doubles; staying far below 2^53 keeps every sum exact.
const MaxQuantity = 1_000_000_000_000

// Defaults of Options.
const (
	DefaultOperationTTL = 7 * 24 * time.Hour
	// DefaultLineTTL keeps closed order lines (and the order index) long
	// enough for late refunds, returns and edits of old orders: a line the
	// ledger has forgotten would be applied again as a new one.
	DefaultLineTTL       = 120 * 24 * time.Hour
	DefaultJournalMaxLen = 10000
	DefaultVerifyDepth   = 1000
	// DefaultReplicaTimeout bounds the wait for replicas (Options.MinReplicas).
	DefaultReplicaTimeout = 500 * time.Millisecond
)

// Options configure a Ledger. The zero value is usable.
type Options struct {
	// Prefix is put before every key, e.g. "shelfsync:". It must not contain
	// '{' or '}': the SKU's hash tag has to be the first one in each key.
	Prefix string
	// OperationTTL is how long operation keys are remembered; default 7
	// days, longer than any channel's redelivery window.
	OperationTTL time.Duration
	// LineTTL is how long closed order lines and the order index are
	// remembered; default 120 days, longer than channels' return windows.
	LineTTL time.Duration
	// JournalMaxLen is the approximate MAXLEN of each SKU's journal; default 10000.
	JournalMaxLen int64
	// NoIntents stops the ledger writing a push intent for every SKU a
	// mutating call touches (see PendingIntents). Only for measuring what
	// intents cost: every writer of a live ledger (the engine, the admin
	// API, `shelfsync stock`, imports) must leave them on, or the daemon
	// never pushes what it wrote.
	NoIntents bool
	// NoSignals stops the ledger's scripts evaluating stock signals
	// (signals.go): no stock.low/out/back events. Only for measuring what
	// signals cost; a live ledger leaves them on.
	NoSignals bool
	// VerifyDepth is how many of a SKU's newest journal entries Verify
	// checks; default 1000.
	VerifyDepth int64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MinReplicas is how many replicas must confirm (WAIT) the writes of a
	// call before it reports them applied; otherwise it fails with
	// ErrNotReplicated. 0 waits for none. ReplicaTimeout bounds the wait
	// (default 500ms).
	MinReplicas    int
	ReplicaTimeout time.Duration
	// ReorderDefaultsRefresh is how old the ledger's copy of the default
	// reorder points may get before a background refresh
	// (reorder_defaults.go); default 1 s.
	ReorderDefaultsRefresh time.Duration
}

// Ledger is the stock ledger on one Redis (or Redis Cluster). It is safe for
// concurrent use; all its state is in Redis.
type Ledger struct {
	rdb     redis.UniversalClient
	opts    Options
	cluster bool

	line                             *function
	fns                              functionsState
	delta, count, mark, clear        *redis.Script
	countBulk                        *redis.Script
	reorder, sigack, sigstate        *redis.Script
	reorderDefault, defaultsClear    *redis.Script
	defaultsClaim, signalsConfigured *redis.Script
	sigeval                          *redis.Script

	defs defsState // the copy of the default reorder points (reorder_defaults.go)

	// journalMaxLen is Options.JournalMaxLen as the scripts take it,
	// formatted and boxed once (maxLen).
	journalMaxLen any

	wire wire // shared pipelines of concurrent calls (pipeline.go)
}

var (
	//go:embed lua/lib.lua
	luaLib string
	//go:embed lua/movelib.lua
	luaMoveLib string
	//go:embed lua/line.lua
	luaLine string
	//go:embed lua/delta.lua
	luaDelta string
	//go:embed lua/countlib.lua
	luaCountLib string
	//go:embed lua/count.lua
	luaCount string
	//go:embed lua/count_bulk.lua
	luaCountBulk string
	//go:embed lua/intent_mark.lua
	luaMark string
	//go:embed lua/intent_clear.lua
	luaClear string
	//go:embed lua/reorder.lua
	luaReorder string
	//go:embed lua/signal_ack.lua
	luaSigAck string
	//go:embed lua/signal_state.lua
	luaSigState string
	//go:embed lua/reorder_default.lua
	luaReorderDefault string
	//go:embed lua/signal_eval.lua
	luaSigEval string
)

// New returns a Ledger on rdb. It does no I/O: scripts are loaded on first
// use (EVALSHA, reloaded after NOSCRIPT).
func New(rdb redis.UniversalClient, opts Options) *Ledger {
	if opts.OperationTTL <= 0 {
		opts.OperationTTL = DefaultOperationTTL
	}
	if opts.LineTTL <= 0 {
		opts.LineTTL = DefaultLineTTL
	}
	if opts.JournalMaxLen <= 0 {
		opts.JournalMaxLen = DefaultJournalMaxLen
	}
	if opts.VerifyDepth <= 0 {
		opts.VerifyDepth = DefaultVerifyDepth
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReplicaTimeout <= 0 {
		opts.ReplicaTimeout = DefaultReplicaTimeout
	}
	if opts.ReorderDefaultsRefresh <= 0 {
		opts.ReorderDefaultsRefresh = DefaultReorderDefaultsRefresh
	}
	_, cluster := rdb.(*redis.ClusterClient)
	return &Ledger{
		journalMaxLen: strconv.FormatInt(opts.JournalMaxLen, 10),
		rdb:           rdb,
		opts:          opts,
		cluster:       cluster,
		line:          newFunction("line", "line", luaLib, luaLine),
		delta:         redis.NewScript(luaLib + luaMoveLib + luaDelta),
		count:         redis.NewScript(luaLib + luaMoveLib + luaCountLib + luaCount),
		// countBulk: SetCounts, many counts of one slot per run (bulk.go).
		countBulk: redis.NewScript(luaLib + luaMoveLib + luaCountLib + luaCountBulk),
		mark:      redis.NewScript(luaMark),
		clear:     redis.NewScript(luaClear),
		reorder:   redis.NewScript(luaLib + luaReorder),
		sigack:    redis.NewScript(luaSigAck),
		sigstate:  redis.NewScript(luaSigState),
		// The default reorder points (reorder_defaults.go).
		reorderDefault:    redis.NewScript(luaReorderDefault),
		defaultsClear:     redis.NewScript(luaDefaultsClear),
		defaultsClaim:     redis.NewScript(luaDefaultsClaim),
		signalsConfigured: redis.NewScript(luaSignalsConfigured),
		sigeval:           redis.NewScript(luaLib + luaSigEval),
	}
}

func (l *Ledger) nowMS() int64 { return l.opts.Now().UnixMilli() }

func (l *Ledger) ttlMS() int64 { return l.opts.OperationTTL.Milliseconds() }

// maxLen is the journal's MAXLEN argument of the scripts.
func (l *Ledger) maxLen() any { return l.journalMaxLen }

func checkQuantity(what string, q int64) error {
	if q < 0 {
		return fmt.Errorf("%w: %s must not be negative, got %d", ErrInvalid, what, q)
	}
	if q > MaxQuantity {
		return fmt.Errorf("%w: %s %d exceeds %d", ErrInvalid, what, q, int64(MaxQuantity))
	}
	return nil
}

func checkName(what, v string) error {
	if v == "" {
		return fmt.Errorf("%w: %s is required", ErrInvalid, what)
	}
	for i := 0; i < len(v); i++ {
		if v[i] == fieldSep {
			return fmt.Errorf("%w: %s must not contain the byte 0x1f", ErrInvalid, what)
		}
	}
	return nil
}

// checkSKU checks a SKU: a name (checkName) that is also a usable URL path
// segment (checkSegment).
func checkSKU(v string) error {
	if err := checkName("sku", v); err != nil {
		return err
	}
	return checkSegment("sku", v)
}

// checkLocation checks a location id: required, and a usable URL path
// segment. (A location may hold 0x1f: it is always the last part of what
// stores it.)
func checkLocation(what, v string) error {
	if v == "" {
		return fmt.Errorf("%w: %s is required", ErrInvalid, what)
	}
	return checkSegment(what, v)
}

// checkSegment refuses "." and "..": SKUs and locations are path segments
// of the admin API (/api/v1/stock/{sku}/{location}), and HTTP clients,
// proxies and Go's router resolve those two as "this" and "the parent"
// directory, so stock held under them could never be read or corrected
// there.
func checkSegment(what, v string) error {
	if v == "." || v == ".." {
		return fmt.Errorf("%w: %s %q is not allowed: URL paths resolve %q as a directory step, so the admin API could not address it", ErrInvalid, what, v, v)
	}
	return nil
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
