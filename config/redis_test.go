package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestRedisModes(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each a problem's text; none: valid
	}{
		{"default is standalone on the default addr", `{}`, nil},
		{"standalone host:port", `{addr: "10.0.0.1:6380"}`, nil},
		{"standalone URL", `{addr: "rediss://u:p@redis.internal:6380/2"}`, nil},
		{"standalone URL without port", `{addr: "redis://redis.internal"}`, nil},
		{"unix socket", `{addr: "unix:///run/redis.sock"}`, nil},
		{"no scheme separator", `{addr: "redis//host"}`, []string{`redis.addr: must be host:port or a redis:// URL, got "redis//host"`}},
		{"no scheme separator, with port", `{addr: "redis//host:6379"}`, []string{`redis.addr: must be host:port or a redis:// URL, got "redis//host:6379"`}},
		{"one slash", `{addr: "redis:/host"}`, []string{`redis.addr: must be host:port or a redis:// URL`}},
		{"port out of range", `{addr: "host:70000"}`, []string{`redis.addr: must be host:port`}},
		{"URL with a bad port", `{addr: "redis://host:x"}`, []string{`redis.addr: must be an absolute URL with scheme redis or rediss or unix`}},
		{"unix without a path", `{addr: "unix://"}`, []string{`redis.addr: must be an absolute URL`}},
		{"unknown mode", `{mode: replicated}`, []string{`redis.mode: must be standalone, cluster or sentinel, got "replicated"`}},
		{"cluster", `{mode: cluster, addrs: ["10.0.0.1:7000", "10.0.0.2:7000"]}`, nil},
		{"cluster without addrs", `{mode: cluster}`, []string{`redis.addrs: is required: the cluster's seed nodes`}},
		{"cluster with a bad seed", `{mode: cluster, addrs: ["10.0.0.1:7000", "redis//x"]}`, []string{`redis.addrs[1]: must be host:port`}},
		{"cluster with a db", `{mode: cluster, addrs: ["h:7000"], db: 2}`, []string{`redis.db: must be 0 in cluster mode`}},
		{"cluster with addr", `{mode: cluster, addrs: ["h:7000"], addr: "h:6379"}`, []string{`redis.addr: is only used in standalone mode (redis.mode is cluster)`}},
		{"cluster with a brace in the prefix", `{mode: cluster, addrs: ["h:7000"], key_prefix: "a{b}:"}`, []string{`redis.key_prefix: must not contain { or } in cluster mode`}},
		{"sentinel", `{mode: sentinel, master_name: mymaster, sentinel_addrs: ["s1:26379", "s2:26379"], sentinel_password: x, db: 1}`, nil},
		{"sentinel without master or sentinels", `{mode: sentinel}`, []string{`redis.master_name: is required`, `redis.sentinel_addrs: is required: the sentinels`}},
		{"sentinel keys in standalone", `{addr: "h:1", master_name: m, sentinel_password: x}`, []string{
			`redis.master_name: is only used in sentinel mode (redis.mode is standalone)`,
			`redis.sentinel_password: is only used in sentinel mode`}},
		{"min replicas", `{min_replicas_acked: 1, min_replicas_timeout: 1s}`, nil},
		{"negative min replicas", `{min_replicas_acked: -1}`, []string{`redis.min_replicas_acked: must be between 0 and 16, got -1`}},
		{"min replicas timeout beyond the read timeout", `{min_replicas_acked: 1, min_replicas_timeout: 5s, read_timeout: 3s}`, []string{`redis.min_replicas_timeout: must be less than redis.read_timeout (3s), got 5s`}},
		{"negative min replicas timeout", `{min_replicas_acked: 1, min_replicas_timeout: -1s}`, []string{`redis.min_replicas_timeout: must be greater than 0`}},
		{"stream partitions", `{stream_partitions: 6, pool_size: 20}`, nil},
		{"negative stream partitions", `{stream_partitions: -1}`, []string{`redis.stream_partitions: must be between 1 and 256, got -1`}},
		{"too many stream partitions", `{stream_partitions: 257}`, []string{`redis.stream_partitions: must be between 1 and 256, got 257`}},
		{"partitions need a worker each on one server", `{stream_partitions: 16, pool_size: 20}`, []string{
			`redis.pool_size: must be at least sync.workers + 8 (24, sync.workers rounded up to a multiple of redis.stream_partitions)`}},
		{"a cluster's pools are per primary", `{mode: cluster, addrs: ["h:7000"], stream_partitions: 16, pool_size: 20}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test", []byte("redis: "+tt.yaml+"\n"))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want %q, got a valid config", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems %q lack %q", err, w)
				}
			}
		})
	}
}

func TestRedisDefaults(t *testing.T) {
	tests := []struct {
		yaml       string
		mode       string
		addr       string
		minWait    time.Duration
		minAcked   int
		partitions int
	}{
		{`{}`, RedisStandalone, DefaultRedisAddr, DefaultRedisMinReplicasTimeout, 0, 1},
		{`{mode: cluster, addrs: ["h:7000"]}`, RedisCluster, "", DefaultRedisMinReplicasTimeout, 0, DefaultClusterStreamPartitions},
		{`{mode: cluster, addrs: ["h:7000"], stream_partitions: 1}`, RedisCluster, "", DefaultRedisMinReplicasTimeout, 0, 1},
		{`{mode: sentinel, master_name: m, sentinel_addrs: ["s:1"], min_replicas_acked: 1}`, RedisSentinel, "", DefaultRedisMinReplicasTimeout, 1, 1},
	}
	for _, tt := range tests {
		cfg, err := Parse("test", []byte("redis: "+tt.yaml+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", tt.yaml, err)
		}
		r := cfg.Redis
		if r.Mode != tt.mode || r.Addr != tt.addr || r.MinReplicasTimeout != tt.minWait || r.MinReplicasAcked != tt.minAcked || r.StreamPartitions != tt.partitions {
			t.Errorf("%s: mode %q addr %q timeout %v acked %d partitions %d", tt.yaml, r.Mode, r.Addr, r.MinReplicasTimeout, r.MinReplicasAcked, r.StreamPartitions)
		}
	}
}

func TestSentinelPasswordFromFileNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/sentinel.pw"
	if err := os.WriteFile(path, []byte("S3CRET-sentinel\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("test", []byte("redis: {mode: sentinel, master_name: m, sentinel_addrs: [\"s:1\"], sentinel_password_file: "+path+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Redis.SentinelPassword.Value() != "S3CRET-sentinel" {
		t.Fatalf("sentinel password %q", cfg.Redis.SentinelPassword.Value())
	}
	if s := cfg.Redis.SentinelPassword.String(); strings.Contains(s, "S3CRET") {
		t.Fatalf("printed as %q", s)
	}
}
