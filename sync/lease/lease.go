// Package lease gives a scheduled job a Redis lease, so it runs once at a
// time across every replica of the daemon and never overlaps itself.
//
// A lease is one key holding a random token, with an expiry. Acquire sets it
// only if absent; Renew and Release touch it only while it still holds our
// token, so a replica that lost its lease (a long GC pause, a network
// partition) can never extend or delete another replica's lease. While a
// job runs under Hold, the lease is renewed at a third of its TTL; if a
// renewal finds the lease gone, the job's context is cancelled.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrHeld: another holder has the lease.
var ErrHeld = errors.New("lease held elsewhere")

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

// Manager hands out leases under a key prefix.
type Manager struct {
	rdb    redis.UniversalClient
	prefix string
	holder string // this process's name, stored in the lease for the admin API
}

// NewManager makes leases under prefix+"lease:". holder names this process
// (host:pid when empty).
func NewManager(rdb redis.UniversalClient, prefix, holder string) *Manager {
	if holder == "" {
		h, _ := os.Hostname()
		holder = fmt.Sprintf("%s:%d", h, os.Getpid())
	}
	return &Manager{rdb: rdb, prefix: prefix + "lease:", holder: holder}
}

// Holder is this process's name.
func (m *Manager) Holder() string { return m.holder }

// Lease is one held lease.
type Lease struct {
	m     *Manager
	key   string
	token string
	ttl   time.Duration
}

// Acquire takes the lease name for ttl, or returns ErrHeld.
func (m *Manager) Acquire(ctx context.Context, name string, ttl time.Duration) (*Lease, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("lease token: %w", err)
	}
	token := m.holder + "/" + hex.EncodeToString(b[:])
	ok, err := m.rdb.SetNX(ctx, m.prefix+name, token, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("acquiring lease %s: %w", name, err)
	}
	if !ok {
		return nil, ErrHeld
	}
	return &Lease{m: m, key: m.prefix + name, token: token, ttl: ttl}, nil
}

// HolderOf returns who holds the lease name ("" when free).
func (m *Manager) HolderOf(ctx context.Context, name string) (string, error) {
	v, err := m.rdb.Get(ctx, m.prefix+name).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading lease %s: %w", name, err)
	}
	if i := len(v) - 25; i > 0 && v[i] == '/' {
		return v[:i], nil
	}
	return v, nil
}

// Renew extends the lease; ErrHeld if it is no longer ours.
func (l *Lease) Renew(ctx context.Context) error {
	n, err := renewScript.Run(ctx, l.m.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("renewing lease: %w", err)
	}
	if n == 0 {
		return ErrHeld
	}
	return nil
}

// Release gives the lease up if it is still ours.
func (l *Lease) Release(ctx context.Context) error {
	if err := releaseScript.Run(ctx, l.m.rdb, []string{l.key}, l.token).Err(); err != nil {
		return fmt.Errorf("releasing lease: %w", err)
	}
	return nil
}

// Hold runs fn under the lease name: it acquires it (ErrHeld if another
// replica has it), renews it every ttl/3 while fn runs, cancels fn's
// context if the lease is lost, and releases it when fn returns.
func (m *Manager) Hold(ctx context.Context, name string, ttl time.Duration, fn func(context.Context) error) error {
	l, err := m.Acquire(ctx, name, ttl)
	if err != nil {
		return err
	}
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
	err = fn(jobCtx)
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
