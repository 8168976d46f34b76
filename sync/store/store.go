// Package store opens shelfsync's Redis connection from config.Redis and
// holds the small Redis-backed types the daemon's wiring needs before the
// engine exists: the per-channel connector cache and the event intake stream.
//
// It never logs itself (SetLogger routes go-redis's own lines through the
// daemon's zerolog logger), and never puts a password or a TLS key into an error: what
// fails says which setting, not its value. Opening a client does no network
// I/O; Ping does.
package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/config"
)

// Open builds the client of cfg.Mode: a single server (standalone: addr is
// host:port or a redis://, rediss:// or unix:// URL, whose user, password
// and db the separate settings override when set), a Redis Cluster
// (cluster: addrs are seed nodes; the client follows MOVED and ASK and
// scans every master where the ledger asks it to), or the primary that
// Sentinel names (sentinel: the client asks the sentinels again after a
// failover). It dials lazily: a wrong address shows on the first command
// (see Ping), so construction has no side effects.
func Open(cfg config.Redis) (redis.UniversalClient, error) {
	switch cfg.Mode {
	case config.RedisCluster:
		opt, err := clusterOptions(cfg)
		if err != nil {
			return nil, err
		}
		return redis.NewClusterClient(opt), nil
	case config.RedisSentinel:
		opt, err := failoverOptions(cfg)
		if err != nil {
			return nil, err
		}
		return redis.NewFailoverClient(opt), nil
	case "", config.RedisStandalone:
		opt, err := options(cfg)
		if err != nil {
			return nil, err
		}
		return redis.NewClient(opt), nil
	default:
		return nil, fmt.Errorf("redis.mode: unknown mode %q", cfg.Mode)
	}
}

// clusterOptions are the settings of a Cluster client: seed nodes, ACL
// user and password, pool, timeouts and TLS (a Cluster has only db 0).
func clusterOptions(cfg config.Redis) (*redis.ClusterOptions, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("redis.addrs: a cluster needs at least one seed node")
	}
	opt := &redis.ClusterOptions{
		Addrs: cfg.Addrs, Username: cfg.Username, Password: cfg.Password.Value(),
		PoolSize: cfg.PoolSize, DialTimeout: cfg.DialTimeout, ReadTimeout: cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout, ContextTimeoutEnabled: true,
	}
	tc, err := tlsFor(cfg.TLS, nil)
	if err != nil {
		return nil, err
	}
	opt.TLSConfig = tc
	return opt, nil
}

// failoverOptions are the settings of a Sentinel-backed client: the
// master's name, the sentinels and their credentials, and for the Redis
// servers the same user, password, db, pool, timeouts and TLS as standalone.
func failoverOptions(cfg config.Redis) (*redis.FailoverOptions, error) {
	if cfg.MasterName == "" || len(cfg.SentinelAddrs) == 0 {
		return nil, errors.New("redis.master_name and redis.sentinel_addrs: sentinel mode needs both")
	}
	opt := &redis.FailoverOptions{
		MasterName: cfg.MasterName, SentinelAddrs: cfg.SentinelAddrs,
		SentinelUsername: cfg.SentinelUsername, SentinelPassword: cfg.SentinelPassword.Value(),
		Username: cfg.Username, Password: cfg.Password.Value(), DB: cfg.DB,
		PoolSize: cfg.PoolSize, DialTimeout: cfg.DialTimeout, ReadTimeout: cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout, ContextTimeoutEnabled: true,
	}
	tc, err := tlsFor(cfg.TLS, nil)
	if err != nil {
		return nil, err
	}
	opt.TLSConfig = tc
	return opt, nil
}

// tlsFor is the TLS config of t on top of base, or base when t asks for
// no TLS.
func tlsFor(t config.TLS, base *tls.Config) (*tls.Config, error) {
	if !t.Enabled && t.CAFile == "" && t.CertFile == "" {
		return base, nil
	}
	return tlsConfig(t, base)
}

func options(cfg config.Redis) (*redis.Options, error) {
	opt := &redis.Options{Addr: cfg.Addr}
	if strings.Contains(cfg.Addr, "://") {
		u, err := redis.ParseURL(cfg.Addr)
		if err != nil {
			// The URL may carry a password: name the setting, not the value.
			return nil, errors.New("redis.addr: not a valid redis URL")
		}
		opt = u
	}
	if cfg.Username != "" {
		opt.Username = cfg.Username
	}
	if cfg.Password.IsSet() {
		opt.Password = cfg.Password.Value()
	}
	if cfg.DB != 0 {
		opt.DB = cfg.DB
	}
	opt.PoolSize = cfg.PoolSize
	opt.DialTimeout = cfg.DialTimeout
	opt.ReadTimeout = cfg.ReadTimeout
	opt.WriteTimeout = cfg.WriteTimeout
	// Honour ctx deadlines as well as the timeouts above, so a shutdown
	// is not held up by a slow Redis.
	opt.ContextTimeoutEnabled = true
	tc, err := tlsFor(cfg.TLS, opt.TLSConfig)
	if err != nil {
		return nil, err
	}
	opt.TLSConfig = tc
	return opt, nil
}

// tlsConfig adds the configured files to base (what a rediss:// URL set up).
func tlsConfig(t config.TLS, base *tls.Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		tc = base.Clone()
	}
	if t.ServerName != "" {
		tc.ServerName = t.ServerName
	}
	// An operator's explicit choice for a test setup; config documents the risk.
	tc.InsecureSkipVerify = t.InsecureSkipVerify //nolint:gosec
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis.tls.ca_file %s: no PEM certificate in it", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			// LoadX509KeyPair's errors name files and formats, never key bytes.
			return nil, fmt.Errorf("redis.tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Ping checks that Redis answers: the daemon's readiness.
func Ping(ctx context.Context, c redis.UniversalClient) error {
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}
