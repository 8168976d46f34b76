package config

import (
	"strings"
	"testing"
)

// TestRedisWhere: each mode names what it points at, and a URL's
// credentials never reach the message.
func TestRedisWhere(t *testing.T) {
	tests := []struct {
		r    Redis
		want string
	}{
		{Redis{Mode: RedisStandalone, Addr: "127.0.0.1:6379"}, "127.0.0.1:6379"},
		{Redis{Mode: RedisStandalone, Addr: "rediss://app:s3cret@redis.example:6380/0"}, "rediss://redis.example:6380/0"},
		{Redis{Mode: RedisCluster, Addrs: []string{"a:7000", "b:7001"}}, "cluster a:7000,b:7001"},
		{Redis{Mode: RedisSentinel, MasterName: "main", SentinelAddrs: []string{"s1:26379", "s2:26379"}}, "sentinel primary main via s1:26379,s2:26379"},
	}
	for _, tt := range tests {
		got := tt.r.Where()
		if got != tt.want {
			t.Errorf("%+v: Where() = %q, want %q", tt.r, got, tt.want)
		}
		if strings.Contains(got, "s3cret") {
			t.Errorf("Where() prints the password: %q", got)
		}
	}
}
