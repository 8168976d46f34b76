package inventory

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// ErrNoFunctions says Redis will not hold the ledger's Function libraries:
// a server older than Redis 7 (or miniredis), or a user whose ACL denies
// FUNCTION LOAD or FCALL. The ledger then runs the same code as scripts
// (EVALSHA), which costs Redis more per order line (BENCHMARKS.md) and
// changes nothing else.
var ErrNoFunctions = errors.New("redis functions unavailable")

// function is a ledger script that Redis 7 can also hold as a Function
// library (FUNCTION LOAD). A script makes every function it defines, as a
// closure, on every run (EVAL, EVALSHA); a library makes them once, when
// it is loaded, and each call (FCALL) runs only its entry function. The
// code ends with the entry function, `local function <entry>(keys, args)`
// to its last `end`, which sets all of a run's state itself (line.lua's
// line()): the library registers it; the script form runs its body as the
// script's own (keys and args being KEYS and ARGV), as making that closure,
// every state variable an upvalue of it, would cost each run about a
// tenth of a one-line run's time. Loaded code runs without Redis' standard
// libraries (redis.call, string, tonumber), so the code only refers to
// them inside functions.
type function struct {
	name   string        // the library's and its function's name: a base and a hash of the code
	code   string        // FUNCTION LOAD's argument
	script *redis.Script // the same code as a script
}

// newFunction is the function base_<hash of src> of the code src, whose
// entry function is entry. It panics when the code does not end with it.
func newFunction(base, entry string, src ...string) *function {
	body := strings.Join(src, "")
	head := "\nlocal function " + entry + "(keys, args)\n"
	i := strings.Index(body, head)
	if i < 0 || strings.Count(body, head) != 1 || !strings.HasSuffix(body, "\nend\n") {
		panic("inventory: the code of " + base + " does not end with its entry function " + entry + "(keys, args)")
	}
	sum := sha1.Sum([]byte(body))
	// Library names take letters, digits and underscores; the hash keeps
	// two versions of the code (a rolling upgrade) apart.
	name := "shelfsync_" + base + "_" + hex.EncodeToString(sum[:8])
	return &function{
		name: name,
		code: "#!lua name=" + name + "\n" + body + "\nredis.register_function('" + name + "', " + entry + ")\n",
		// One line for the header, so the script's line numbers (errors)
		// are the code's.
		script: redis.NewScript(body[:i] + "\ndo local keys, args = KEYS, ARGV\n" + body[i+len(head):]),
	}
}

// functionsState says whether the ledger calls its functions (FCALL): yes
// until Redis refuses them for good, then never again (off holds why).
type functionsState struct {
	off atomic.Pointer[error]
}

func (s *functionsState) on() bool { return s.off.Load() == nil }

func (s *functionsState) turnOff(why error) {
	err := fmt.Errorf("%w: %w", ErrNoFunctions, why)
	s.off.CompareAndSwap(nil, &err)
}

// functions lists the ledger's functions.
func (l *Ledger) functions() []*function { return []*function{l.line} }

// LoadFunctions loads the ledger's Function libraries (on every primary of
// a Cluster), so the first order line does not wait for it. A Redis that
// refuses them turns them off for this ledger: it returns ErrNoFunctions,
// wrapping the server's answer, and the ledger runs its scripts by EVALSHA.
// Any other error (Redis unreachable) changes nothing: the first call that
// finds a library missing loads it. Calling it is optional.
func (l *Ledger) LoadFunctions(ctx context.Context) error {
	for _, f := range l.functions() {
		if err := l.loadFunction(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// FunctionsErr is nil while the ledger calls its functions, else why it
// does not (ErrNoFunctions).
func (l *Ledger) FunctionsErr() error {
	if p := l.fns.off.Load(); p != nil {
		return *p
	}
	return nil
}

// loadFunction loads f (replacing a library of its name: the same code, as
// the name holds its hash). A refusal by Redis turns functions off and
// returns ErrNoFunctions; a failure to reach Redis is returned as it is.
func (l *Ledger) loadFunction(ctx context.Context, f *function) error {
	if err := l.FunctionsErr(); err != nil {
		return err
	}
	var err error
	if cc, ok := l.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return c.FunctionLoadReplace(ctx, f.code).Err()
		})
	} else {
		err = l.rdb.FunctionLoadReplace(ctx, f.code).Err()
	}
	if err == nil {
		return nil
	}
	if loadRefused(err) {
		l.fns.turnOff(fmt.Errorf("loading %s: %w", f.name, err))
		return l.FunctionsErr()
	}
	return fmt.Errorf("loading the Redis Function library %s: %w", f.name, err)
}

// loadRefused says Redis refused FUNCTION LOAD for good: an unknown command
// or a library it can not load (ERR), or an ACL (NOPERM). A server that is
// only busy for now (LOADING, READONLY during a failover, BUSY, CLUSTERDOWN,
// TRYAGAIN) or not reached is not a refusal.
func loadRefused(err error) bool {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return false
	}
	msg := reply.Error()
	return strings.HasPrefix(msg, "ERR ") || strings.HasPrefix(msg, "NOPERM")
}

// fcallRefused says an FCALL was refused without running: its library is
// not loaded (a new or flushed server), or the server has no Functions
// (unknown command) or the user may not call them (NOPERM).
func fcallRefused(c *redis.Cmd) bool {
	if c.Name() != "fcall" {
		return false
	}
	err := c.Err()
	return err != nil && (functionMissing(err) || redis.HasErrorPrefix(err, "NOPERM") ||
		strings.HasPrefix(err.Error(), "ERR unknown command"))
}

func functionMissing(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "ERR Function not found")
}

// afterRefusedFCALL prepares the second attempt of calls Redis answered
// refused (fcallRefused): a missing library is loaded; a server that
// refuses Functions turns them off, and the calls go as scripts.
func (l *Ledger) afterRefusedFCALL(ctx context.Context, refused error, calls []scriptCall, again []int) error {
	if !functionMissing(refused) {
		l.fns.turnOff(refused)
		return nil
	}
	loaded := map[*function]bool{}
	for _, i := range again {
		f := calls[i].fn
		if f == nil || loaded[f] {
			continue
		}
		loaded[f] = true
		if err := l.loadFunction(ctx, f); err != nil && !errors.Is(err, ErrNoFunctions) {
			return err
		}
	}
	return nil
}
