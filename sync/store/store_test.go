package store

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/internal/redistest"
)

func redisConfig(addr string) config.Redis {
	r := config.Default().Redis
	r.Addr = addr
	return r
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name  string
		cfg   func(r *config.Redis)
		check func(t *testing.T, o *redis.Options)
	}{
		{"host:port", func(r *config.Redis) { r.Addr = "10.0.0.1:6380" }, func(t *testing.T, o *redis.Options) {
			if o.Addr != "10.0.0.1:6380" || o.TLSConfig != nil || o.PoolSize != config.DefaultRedisPoolSize {
				t.Errorf("got addr %q tls %v pool %d", o.Addr, o.TLSConfig, o.PoolSize)
			}
		}},
		{"url with user, password and db", func(r *config.Redis) { r.Addr = "redis://u:p@h:1/3" }, func(t *testing.T, o *redis.Options) {
			if o.Addr != "h:1" || o.Username != "u" || o.Password != "p" || o.DB != 3 {
				t.Errorf("got %q %q %q %d", o.Addr, o.Username, o.Password, o.DB)
			}
		}},
		{"settings override the url", func(r *config.Redis) {
			r.Addr, r.Username, r.Password, r.DB = "redis://u:p@h:1/3", "v", config.NewSecret("q"), 4
		}, func(t *testing.T, o *redis.Options) {
			if o.Username != "v" || o.Password != "q" || o.DB != 4 {
				t.Errorf("got %q %q %d", o.Username, o.Password, o.DB)
			}
		}},
		{"rediss url has TLS", func(r *config.Redis) { r.Addr = "rediss://h:6380" }, func(t *testing.T, o *redis.Options) {
			if o.TLSConfig == nil {
				t.Error("no TLS config")
			}
		}},
		{"tls enabled", func(r *config.Redis) { r.TLS = config.TLS{Enabled: true, ServerName: "redis.internal"} }, func(t *testing.T, o *redis.Options) {
			if o.TLSConfig == nil || o.TLSConfig.ServerName != "redis.internal" || o.TLSConfig.MinVersion != tls.VersionTLS12 {
				t.Errorf("tls %+v", o.TLSConfig)
			}
		}},
		{"timeouts", func(r *config.Redis) {
			r.DialTimeout, r.ReadTimeout, r.WriteTimeout = time.Second, 2*time.Second, 3*time.Second
		}, func(t *testing.T, o *redis.Options) {
			if o.DialTimeout != time.Second || o.ReadTimeout != 2*time.Second || o.WriteTimeout != 3*time.Second || !o.ContextTimeoutEnabled {
				t.Errorf("got %v %v %v %v", o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.ContextTimeoutEnabled)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := redisConfig("")
			tt.cfg(&r)
			o, err := options(r)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}

func TestOptionsErrorsHideSecrets(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, want string
		cfg        func(r *config.Redis)
	}{
		{"bad url", "redis.addr: not a valid redis URL", func(r *config.Redis) { r.Addr = "redis://user:s3cret-pw@h:x:y/zz" }},
		{"missing ca", "redis.tls.ca_file", func(r *config.Redis) { r.TLS.CAFile = filepath.Join(dir, "nope.pem") }},
		{"ca not pem", "no PEM certificate", func(r *config.Redis) { r.TLS.CAFile = notPEM }},
		{"bad key pair", "redis.tls.cert_file/key_file", func(r *config.Redis) { r.TLS.CertFile, r.TLS.KeyFile = notPEM, notPEM }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := redisConfig("h:1")
			tt.cfg(&r)
			_, err := Open(r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Fatalf("error holds the password: %v", err)
			}
		})
	}
}

func TestPing(t *testing.T) {
	ctx := context.Background()
	c, err := Open(redisConfig(redistest.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := Ping(ctx, c); err != nil {
		t.Fatalf("ping the test Redis: %v", err)
	}

	// Nothing listens on port 1.
	r := redisConfig("127.0.0.1:1")
	r.DialTimeout = 500 * time.Millisecond
	down, err := Open(r)
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	if err := Ping(ctx, down); err == nil || !strings.HasPrefix(err.Error(), "redis ping: ") {
		t.Fatalf("ping of a closed port: %v", err)
	}
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	a, b := NewCache(rdb, prefix, "shop-a"), NewCache(rdb, prefix, "shop-b")

	if _, ok, err := a.Get(ctx, "sku:1"); ok || err != nil {
		t.Fatalf("empty cache: ok %v err %v", ok, err)
	}
	if err := a.Set(ctx, "sku:1", "gid://shopify/InventoryItem/1", 0); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := a.Get(ctx, "sku:1"); v != "gid://shopify/InventoryItem/1" || !ok || err != nil {
		t.Fatalf("got %q %v %v", v, ok, err)
	}
	if _, ok, _ := b.Get(ctx, "sku:1"); ok {
		t.Fatal("channel b sees channel a's key")
	}
	if n, _ := rdb.Exists(ctx, prefix+"cache:shop-a:sku:1").Result(); n != 1 {
		t.Fatal("key not under prefix + cache:<channel>:")
	}
	if err := b.Set(ctx, "k", "v", time.Minute); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.TTL(ctx, prefix+"cache:shop-b:k").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl %v, want (0, 1m]", ttl)
	}
	if ttl := rdb.TTL(ctx, prefix+"cache:shop-a:sku:1").Val(); ttl != -1 {
		t.Fatalf("ttl 0 should not expire, got %v", ttl)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := a.Get(cctx, "sku:1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("get with a cancelled ctx: %v", err)
	}
}
