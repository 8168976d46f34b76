package store

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/config"
)

// TestOpenModes: each redis.mode gets its client, with the settings of
// config (seed nodes, sentinels and their credentials, pool, timeouts,
// TLS), and a mode missing its addresses is an error naming the setting.
func TestOpenModes(t *testing.T) {
	base := config.Default().Redis
	base.Addr = ""
	base.PoolSize, base.ReadTimeout = 33, 2*time.Second
	tests := []struct {
		name  string
		set   func(r *config.Redis)
		check func(t *testing.T, c redis.UniversalClient)
		err   string
	}{
		{"standalone", func(r *config.Redis) { r.Mode, r.Addr = config.RedisStandalone, "h:1" }, func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.Client).Options()
			if o.Addr != "h:1" || o.PoolSize != 33 {
				t.Errorf("addr %q pool %d", o.Addr, o.PoolSize)
			}
		}, ""},
		{"cluster", func(r *config.Redis) {
			r.Mode, r.Addrs, r.Username, r.Password = config.RedisCluster, []string{"a:7000", "b:7000"}, "u", config.NewSecret("p")
			r.TLS.Enabled = true
		}, func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.ClusterClient).Options()
			if strings.Join(o.Addrs, ",") != "a:7000,b:7000" || o.Username != "u" || o.Password != "p" || o.PoolSize != 33 ||
				o.ReadTimeout != 2*time.Second || o.TLSConfig == nil || !o.ContextTimeoutEnabled {
				t.Errorf("options %+v", o)
			}
		}, ""},
		{"sentinel", func(r *config.Redis) {
			r.Mode, r.MasterName, r.SentinelAddrs = config.RedisSentinel, "m", []string{"s1:26379", "s2:26379"}
			r.SentinelUsername, r.SentinelPassword, r.Password, r.DB = "su", config.NewSecret("sp"), config.NewSecret("p"), 2
		}, func(t *testing.T, c redis.UniversalClient) {
			if _, ok := c.(*redis.Client); !ok {
				t.Fatalf("a %T", c)
			}
			o, err := failoverOptions(func() config.Redis {
				r := base
				r.Mode, r.MasterName, r.SentinelAddrs = config.RedisSentinel, "m", []string{"s1:26379", "s2:26379"}
				r.SentinelUsername, r.SentinelPassword, r.Password, r.DB = "su", config.NewSecret("sp"), config.NewSecret("p"), 2
				return r
			}())
			if err != nil || o.MasterName != "m" || len(o.SentinelAddrs) != 2 || o.SentinelUsername != "su" || o.SentinelPassword != "sp" ||
				o.Password != "p" || o.DB != 2 || o.PoolSize != 33 || !o.ContextTimeoutEnabled {
				t.Errorf("options %+v %v", o, err)
			}
		}, ""},
		{"cluster without seeds", func(r *config.Redis) { r.Mode = config.RedisCluster }, nil, "redis.addrs"},
		{"sentinel without sentinels", func(r *config.Redis) { r.Mode, r.MasterName = config.RedisSentinel, "m" }, nil, "redis.master_name and redis.sentinel_addrs"},
		{"unknown mode", func(r *config.Redis) { r.Mode = "ring" }, nil, `redis.mode: unknown mode "ring"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.set(&r)
			c, err := Open(r)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tt.check(t, c)
		})
	}
}
