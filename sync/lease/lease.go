// Package lease gives a scheduled job a Redis lease, so it runs once at a
// time across every replica of the daemon and never overlaps itself.
//
// A lease is one key holding this process's name and a random token, with
// an expiry. Acquire sets it only if absent; Renew and Release touch it
// only while it still holds our value, so a replica that lost its lease (a
// long GC pause, a network partition) can never extend or delete another
// replica's lease. While a job runs under Hold, the lease is renewed at a
// third of its TTL; if a renewal finds the lease gone, the job's context is
// cancelled.
//
// A restarted process takes over the leases its dead predecessor held
// instead of waiting for them to expire: a holder is named
// "<instance>:<pid>" (instance: SHELFSYNC_INSTANCE_ID, else the host
// name), and a lease held under our instance by a process that is not
// running here any more — another pid that no longer exists, or our own
// pid (a container restarted as pid 1) with a value this process never
// wrote — is taken at once. Two live processes never take each other's
// lease; replicas that share a host name must set distinct
// SHELFSYNC_INSTANCE_ID values.
//
// The lease's value is unique per acquisition, so it is also a fencing
// token: Lease.Key and Lease.Value let a writer check, atomically with its
// write, that it still holds the lease (the pusher does, when it records
// what a channel accepted).
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrHeld: another holder has the lease.
var ErrHeld = errors.New("lease held elsewhere")

// HeldError is the ErrHeld that Acquire returns: it says how long the
// lease has left (0 when unknown), so a replica waiting for it can try
// again when it expires instead of polling.
type HeldError struct{ Remaining time.Duration }

func (e *HeldError) Error() string        { return ErrHeld.Error() }
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// RetryAfter is how long to wait before trying again for a lease that err
// (from Acquire or Hold) says is held: until just after it expires, but at
// most most (its holder may release it sooner) and at least a few
// milliseconds.
func RetryAfter(err error, most time.Duration) time.Duration {
	var he *HeldError
	if !errors.As(err, &he) || he.Remaining <= 0 {
		return most
	}
	return min(max(he.Remaining+retrySlack, retrySlack), most)
}

// retrySlack is tried after a lease's expiry: Redis expires keys to the
// millisecond, but the two clocks and the round trip differ a little.
const retrySlack = 20 * time.Millisecond

// acquireScript sets the lease if it is free (KEYS[1]; ARGV: value, ttl
// ms) and returns {1}; else {0, the value it holds, its PTTL}, so a failed
// attempt costs one round trip and says when to try again.
var acquireScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
return {0, redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}`)

var (
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
)

// takeoverScript replaces the lease's value only if it still is the one
// seen (a dead predecessor's): KEYS[1] lease, ARGV: seen, new, ttl ms.
var takeoverScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`)

// Manager hands out leases under a key prefix.
type Manager struct {
	rdb    redis.UniversalClient
	prefix string
	holder string // this process's name, stored in the lease for the admin API
	// instance and pid parse holder when it has the "<instance>:<pid>"
	// form; pid is 0 otherwise (no takeover).
	instance string
	pid      int
	// alive says whether a process of this host runs with pid.
	alive func(pid int) bool

	mu   sync.Mutex
	mine map[string]int // values this process wrote and still holds
}

// InstanceEnv names the environment variable that gives this replica a
// stable identity across restarts (default: the host name).
const InstanceEnv = "SHELFSYNC_INSTANCE_ID"

// DefaultHolder is "<instance>:<pid>".
func DefaultHolder() string {
	inst := os.Getenv(InstanceEnv)
	if inst == "" {
		inst, _ = os.Hostname()
	}
	return fmt.Sprintf("%s:%d", inst, os.Getpid())
}

// NewManager makes leases under prefix+"lease:". holder names this process
// (DefaultHolder when empty).
func NewManager(rdb redis.UniversalClient, prefix, holder string) *Manager {
	if holder == "" {
		holder = DefaultHolder()
	}
	m := &Manager{rdb: rdb, prefix: prefix + "lease:", holder: holder, alive: processAlive, mine: map[string]int{}}
	m.instance, m.pid = splitHolder(holder)
	return m
}

// splitHolder parses "<instance>:<pid>"; pid 0 when holder is not of that form.
func splitHolder(holder string) (string, int) {
	i := strings.LastIndexByte(holder, ':')
	if i <= 0 {
		return holder, 0
	}
	pid, err := strconv.Atoi(holder[i+1:])
	if err != nil || pid <= 0 {
		return holder, 0
	}
	return holder[:i], pid
}

// processAlive reports whether a process with pid runs on this host (as
// far as this process can see: EPERM means it exists).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Holder is this process's name.
func (m *Manager) Holder() string { return m.holder }

// Lease is one held lease.
type Lease struct {
	m     *Manager
	key   string
	token string
	ttl   time.Duration
	// more are further keys held with the same value (AcquireKeys): fences
	// in other hash tags.
	more []string
}

// Key is the lease's Redis key.
func (l *Lease) Key() string { return l.key }

// Value is what the lease key holds while the lease is ours: a fencing
// token, unique to this acquisition.
func (l *Lease) Value() string { return l.token }

// Acquire takes the lease name for ttl, or returns ErrHeld.
func (m *Manager) Acquire(ctx context.Context, name string, ttl time.Duration) (*Lease, error) {
	return m.AcquireKey(ctx, m.prefix+name, ttl)
}

// AcquireKey is Acquire with the lease at key, a full Redis key (a lease
// that must share a hash tag with the keys it fences).
func (m *Manager) AcquireKey(ctx context.Context, key string, ttl time.Duration) (*Lease, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("lease token: %w", err)
	}
	token := m.holder + "/" + hex.EncodeToString(b[:])
	res, err := acquireScript.Run(ctx, m.rdb, []string{key}, token, ttl.Milliseconds()).Slice()
	if err != nil {
		return nil, fmt.Errorf("acquiring lease %s: %w", key, err)
	}
	if err := m.acquired(ctx, key, res, token, ttl); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.mine[token]++
	m.mu.Unlock()
	return &Lease{m: m, key: key, token: token, ttl: ttl}, nil
}

// AcquireKeys takes the lease at keys[0] as AcquireKey does, then sets
// each other key to the same value (a fencing token each writer checks in
// its own hash tag, on a Redis Cluster where one script can not read
// keys[0]). It holds all or none: when any is held by someone else (a
// holder of before whose keys have not expired yet), it gives back what it
// took and returns the ErrHeld of that key.
func (m *Manager) AcquireKeys(ctx context.Context, keys []string, ttl time.Duration) (*Lease, error) {
	l, err := m.AcquireKey(ctx, keys[0], ttl)
	if err != nil {
		return nil, err
	}
	for _, key := range keys[1:] {
		res, err := acquireScript.Run(ctx, m.rdb, []string{key}, l.token, ttl.Milliseconds()).Slice()
		if err == nil {
			err = m.acquired(ctx, key, res, l.token, ttl)
		}
		if err != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = l.Release(rctx)
			cancel()
			return nil, err
		}
		l.more = append(l.more, key)
	}
	return l, nil
}

// acquired reads acquireScript's answer res for key: nil when key is now
// token's (set, or taken over from a dead predecessor), else ErrHeld.
func (m *Manager) acquired(ctx context.Context, key string, res []any, token string, ttl time.Duration) error {
	if n, _ := res[0].(int64); n == 1 {
		return nil
	}
	seen, _ := res[1].(string)
	pttl, _ := res[2].(int64)
	ok, err := m.takeOver(ctx, key, seen, token, ttl)
	if err != nil {
		return err
	}
	if !ok {
		return &HeldError{Remaining: time.Duration(max(pttl, 0)) * time.Millisecond}
	}
	return nil
}

// takeOver takes the lease at key, which holds seen, if its holder is
// this instance's dead predecessor (see the package comment).
func (m *Manager) takeOver(ctx context.Context, key, seen, token string, ttl time.Duration) (bool, error) {
	if m.pid == 0 || seen == "" {
		return false, nil
	}
	inst, pid := splitHolder(holderOf(seen))
	if inst != m.instance || pid == 0 {
		return false, nil
	}
	if pid == m.pid {
		m.mu.Lock()
		ours := m.mine[seen] > 0
		m.mu.Unlock()
		if ours {
			return false, nil // this process holds it (a job still running)
		}
	} else if m.alive(pid) {
		return false, nil
	}
	n, err := takeoverScript.Run(ctx, m.rdb, []string{key}, seen, token, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("taking over lease %s: %w", key, err)
	}
	return n == 1, nil
}

// holderOf strips the token from a lease's value.
func holderOf(v string) string {
	if i := len(v) - 25; i > 0 && v[i] == '/' {
		return v[:i]
	}
	return v
}

// HolderOf returns who holds the lease name ("" when free).
func (m *Manager) HolderOf(ctx context.Context, name string) (string, error) {
	return m.HolderOfKey(ctx, m.prefix+name)
}

// HolderOfKey returns who holds the lease at key ("" when free).
func (m *Manager) HolderOfKey(ctx context.Context, key string) (string, error) {
	v, err := m.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading lease %s: %w", key, err)
	}
	return holderOf(v), nil
}

// ClaimPeriod claims the current period of the periodic job name for d:
// it reports true when no replica claimed it in the last d. A lease alone
// keeps a job from overlapping itself, but replicas whose schedules tick
// at different moments (an "@every" schedule counts from each process's
// start) would each find it free in turn and run the job once each per
// period; claiming the period first makes it once per period between
// them. The claim is never released: it expires.
func (m *Manager) ClaimPeriod(ctx context.Context, name string, d time.Duration) (bool, error) {
	ok, err := m.rdb.SetNX(ctx, m.prefix+"period:"+name, m.holder, d).Result()
	if err != nil {
		return false, fmt.Errorf("claiming the period of %s: %w", name, err)
	}
	return ok, nil
}

// Renew extends the lease (every key of it); ErrHeld if any is no
// longer ours.
func (l *Lease) Renew(ctx context.Context) error {
	for _, key := range append([]string{l.key}, l.more...) {
		n, err := renewScript.Run(ctx, l.m.rdb, []string{key}, l.token, l.ttl.Milliseconds()).Int()
		if err != nil {
			return fmt.Errorf("renewing lease: %w", err)
		}
		if n == 0 {
			return ErrHeld
		}
	}
	return nil
}

// Release gives the lease up if it is still ours.
func (l *Lease) Release(ctx context.Context) error {
	l.m.mu.Lock()
	if l.m.mine[l.token]--; l.m.mine[l.token] <= 0 {
		delete(l.m.mine, l.token)
	}
	l.m.mu.Unlock()
	var first error
	// The fences first: the lease frees last.
	for _, key := range append(append([]string(nil), l.more...), l.key) {
		if err := releaseScript.Run(ctx, l.m.rdb, []string{key}, l.token).Err(); err != nil && first == nil {
			first = fmt.Errorf("releasing lease: %w", err)
		}
	}
	return first
}

// Hold runs fn under the lease name: it acquires it (ErrHeld if another
// replica has it), renews it every ttl/3 while fn runs, cancels fn's
// context if the lease is lost, and releases it when fn returns.
func (m *Manager) Hold(ctx context.Context, name string, ttl time.Duration, fn func(context.Context) error) error {
	return m.HoldKey(ctx, m.prefix+name, ttl, func(ctx context.Context, _ *Lease) error { return fn(ctx) })
}

// HoldKey is Hold with the lease at key (see AcquireKey); fn is given the
// lease, for fencing its writes.
func (m *Manager) HoldKey(ctx context.Context, key string, ttl time.Duration, fn func(context.Context, *Lease) error) error {
	return m.HoldKeys(ctx, []string{key}, ttl, fn)
}

// HoldKeys is HoldKey with the lease at keys[0] and the same value at
// each other key (see AcquireKeys): all renewed together, the job
// cancelled when any is lost, all released at the end.
func (m *Manager) HoldKeys(ctx context.Context, keys []string, ttl time.Duration, fn func(context.Context, *Lease) error) error {
	l, err := m.AcquireKeys(ctx, keys, ttl)
	if err != nil {
		return err
	}
	name := keys[0]
	jobCtx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-jobCtx.Done():
				return
			case <-t.C:
				if err := l.Renew(jobCtx); err != nil {
					cancel(fmt.Errorf("lease %s lost: %w", name, err))
					return
				}
			}
		}
	}()
	err = fn(jobCtx, l)
	cancel(nil)
	<-done
	// Release even when ctx is over: a fresh context bounded in time.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer rcancel()
	if rerr := l.Release(rctx); rerr != nil && err == nil {
		err = rerr
	}
	return err
}
