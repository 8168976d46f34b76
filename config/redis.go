package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Redis modes (Redis.Mode).
const (
	RedisStandalone = "standalone"
	RedisCluster    = "cluster"
	RedisSentinel   = "sentinel"
)

// Redis defaults besides those in defaults.go.
const (
	DefaultRedisMode               = RedisStandalone
	DefaultRedisMinReplicasTimeout = 500 * time.Millisecond
	// DefaultClusterStreamPartitions is redis.stream_partitions in cluster
	// mode: a multiple of 1, 2, 3, 4 and 6, so on a Cluster of that many
	// primaries (equal slot ranges) each holds as many partitions.
	DefaultClusterStreamPartitions = 12
	// maxStreamPartitions bounds redis.stream_partitions: each partition
	// has at least one intake worker holding a connection.
	maxStreamPartitions = 256
)

// Redis is where the ledger, the intake, the outboxes and the leases live:
// one server (standalone), a Redis Cluster, or a primary found through
// Sentinel.
type Redis struct {
	// Mode is standalone (Addr), cluster (Addrs) or sentinel (MasterName
	// and SentinelAddrs).
	Mode string `yaml:"mode"`
	// Addr is host:port, or a redis:// or rediss:// URL (standalone).
	Addr string `yaml:"addr"`
	// Addrs are a Cluster's seed nodes, host:port each (cluster).
	Addrs []string `yaml:"addrs"`
	// MasterName is the name the sentinels know the primary by, and
	// SentinelAddrs the sentinels, host:port each (sentinel).
	MasterName    string   `yaml:"master_name"`
	SentinelAddrs []string `yaml:"sentinel_addrs"`
	// SentinelUsername and SentinelPassword authenticate to the sentinels
	// (Username and Password to the Redis servers themselves).
	SentinelUsername string `yaml:"sentinel_username"`
	SentinelPassword Secret `yaml:"sentinel_password"`
	Username         string `yaml:"username"`
	Password         Secret `yaml:"password"`
	DB               int    `yaml:"db"`
	// KeyPrefix is put before every key shelfsync writes, so several
	// merchants (or tests) can share one Redis.
	KeyPrefix    string        `yaml:"key_prefix"`
	TLS          TLS           `yaml:"tls"`
	PoolSize     int           `yaml:"pool_size"`
	DialTimeout  time.Duration `yaml:"dial_timeout"`
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MinReplicasAcked is how many replicas must confirm an acknowledged
	// write (WAIT) before a channel is told it was taken; 0 does not wait.
	// MinReplicasTimeout bounds that wait.
	MinReplicasAcked   int           `yaml:"min_replicas_acked"`
	MinReplicasTimeout time.Duration `yaml:"min_replicas_timeout"`
	// StreamPartitions is how many streams the intake and the downstream
	// order stream are each spread over, each with its own hash tag and
	// consumer group, so a Cluster's primaries share their work. Default 1
	// (one stream each, as before), DefaultClusterStreamPartitions in
	// cluster mode.
	StreamPartitions int `yaml:"stream_partitions"`
	// OutboxPartitions is how many partitions each channel's outbox is
	// spread over by SKU, each with its own hash tag (and push-lease
	// fence), so a Cluster's primaries share the push work. Default:
	// StreamPartitions (1 on one server, 12 in cluster mode).
	OutboxPartitions int `yaml:"outbox_partitions"`
}

// TLS configures a TLS client connection.
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// applyDefaults fills the unset Redis settings. Addr has a default only
// in standalone mode, so a stray addr in another mode is reported.
func (r *Redis) applyDefaults() {
	setString(&r.Mode, DefaultRedisMode)
	if r.Mode == RedisStandalone {
		setString(&r.Addr, DefaultRedisAddr)
	}
	setString(&r.KeyPrefix, DefaultKeyPrefix)
	setInt(&r.PoolSize, DefaultRedisPoolSize)
	setDuration(&r.DialTimeout, DefaultRedisDialTimeout)
	setDuration(&r.ReadTimeout, DefaultRedisReadTimeout)
	setDuration(&r.WriteTimeout, DefaultRedisWriteTimeout)
	setDuration(&r.MinReplicasTimeout, DefaultRedisMinReplicasTimeout)
	if r.Mode == RedisCluster {
		setInt(&r.StreamPartitions, DefaultClusterStreamPartitions)
	}
	setInt(&r.StreamPartitions, 1)
	setInt(&r.OutboxPartitions, r.StreamPartitions)
}

// minSpareConns is how many pooled Redis connections the daemon needs
// besides those its intake workers hold.
const minSpareConns = 8

// maxMinReplicas bounds redis.min_replicas_acked: more replicas than any
// real setup has is a typo that would refuse every write.
const maxMinReplicas = 16

func (r *Redis) validate(c *checker, workers int) {
	r.validateMode(c)
	c.nonNegative("redis.db", int64(r.DB))
	if r.Mode == RedisCluster && strings.ContainsAny(r.KeyPrefix, "{}") {
		// Keys carry hash tags ({sku}, {intake}); a brace in the prefix
		// would become the tag and put all keys in one slot, or scatter
		// what must stay together.
		c.addf("redis.key_prefix", "must not contain { or } in cluster mode (keys carry hash tags), got %q", r.KeyPrefix)
	}
	if (r.TLS.CertFile == "") != (r.TLS.KeyFile == "") {
		c.addf("redis.tls", "cert_file and key_file go together: set both or neither")
	}
	c.positive("redis.pool_size", int64(r.PoolSize))
	c.positive("redis.dial_timeout", int64(r.DialTimeout))
	c.positive("redis.read_timeout", int64(r.ReadTimeout))
	c.positive("redis.write_timeout", int64(r.WriteTimeout))
	if r.MinReplicasAcked < 0 || r.MinReplicasAcked > maxMinReplicas {
		c.addf("redis.min_replicas_acked", "must be between 0 and %d, got %d", maxMinReplicas, r.MinReplicasAcked)
	}
	c.positive("redis.min_replicas_timeout", int64(r.MinReplicasTimeout))
	r.validatePartitions(c)
	if r.MinReplicasAcked > 0 && r.ReadTimeout > 0 && r.MinReplicasTimeout >= r.ReadTimeout {
		// WAIT answers after its timeout: the read must wait longer.
		c.addf("redis.min_replicas_timeout", "must be less than redis.read_timeout (%s), got %s", r.ReadTimeout, r.MinReplicasTimeout)
	}
	// Each intake worker holds a pooled connection while it waits on the
	// stream; the pushers, the ledger and the API need the rest. (Out of
	// range workers are sync.workers' problem.)
	// With partitions each gets ceil(workers/partitions) workers; on one
	// server (not a Cluster, whose pools are per primary) they all wait on
	// its pool.
	if workers >= 1 && workers <= maxWorkers && r.PoolSize > 0 {
		need := workers
		if p := r.StreamPartitions; r.Mode != RedisCluster && p > 1 && p <= maxStreamPartitions {
			need = p * ((workers + p - 1) / p)
		}
		round := ""
		if need != workers {
			round = ", sync.workers rounded up to a multiple of redis.stream_partitions"
		}
		if r.PoolSize < need+minSpareConns {
			c.addf("redis.pool_size", "must be at least sync.workers + %d (%d%s): each intake worker holds a connection while it waits; got %d",
				minSpareConns, need+minSpareConns, round, r.PoolSize)
		}
	}
}

// validatePartitions checks redis.stream_partitions and
// redis.outbox_partitions.
func (r *Redis) validatePartitions(c *checker) {
	for _, p := range []struct {
		key string
		n   int
	}{{"redis.stream_partitions", r.StreamPartitions}, {"redis.outbox_partitions", r.OutboxPartitions}} {
		if p.n < 1 || p.n > maxStreamPartitions {
			c.addf(p.key, "must be between 1 and %d, got %d", maxStreamPartitions, p.n)
		}
	}
}

// validateMode checks the keys that say where Redis is, for the mode, and
// reports the keys of other modes that are set (they would be ignored).
func (r *Redis) validateMode(c *checker) {
	switch r.Mode {
	case RedisStandalone:
		if r.Addr == "" {
			c.addf("redis.addr", "is required in standalone mode")
		} else if msg := redisAddrProblem(r.Addr); msg != "" {
			c.addf("redis.addr", "%s", msg)
		}
	case RedisCluster:
		c.hostPorts("redis.addrs", r.Addrs, "the cluster's seed nodes")
		if r.DB != 0 {
			c.addf("redis.db", "must be 0 in cluster mode (a Redis Cluster has one database), got %d", r.DB)
		}
	case RedisSentinel:
		c.required("redis.master_name", r.MasterName != "")
		c.hostPorts("redis.sentinel_addrs", r.SentinelAddrs, "the sentinels")
	default:
		c.addf("redis.mode", "must be standalone, cluster or sentinel, got %q", r.Mode)
		return
	}
	for _, k := range []struct {
		key, mode string
		set       bool
	}{
		{"addr", RedisStandalone, r.Addr != ""},
		{"addrs", RedisCluster, len(r.Addrs) > 0},
		{"master_name", RedisSentinel, r.MasterName != ""},
		{"sentinel_addrs", RedisSentinel, len(r.SentinelAddrs) > 0},
		{"sentinel_username", RedisSentinel, r.SentinelUsername != ""},
		{"sentinel_password", RedisSentinel, r.SentinelPassword.IsSet()},
	} {
		if k.set && k.mode != r.Mode {
			c.addf("redis."+k.key, "is only used in %s mode (redis.mode is %s)", k.mode, r.Mode)
		}
	}
}

// hostPorts checks a list of host:port addresses that must not be empty.
func (c *checker) hostPorts(path string, addrs []string, what string) {
	if len(addrs) == 0 {
		c.addf(path, "is required: %s, host:port each", what)
	}
	for i, a := range addrs {
		if msg := hostPortProblem(a); msg != "" {
			c.addf(fmt.Sprintf("%s[%d]", path, i), "%s", msg)
		}
	}
}

// redisAddrProblem says what is wrong with a standalone addr: host:port,
// or a redis://, rediss:// or unix:// URL ("" when nothing).
func redisAddrProblem(addr string) string {
	if !strings.Contains(addr, "://") {
		if hostPortProblem(addr) != "" {
			return fmt.Sprintf("must be host:port or a redis:// URL, got %q", redactURL(addr))
		}
		return ""
	}
	u, err := url.Parse(addr)
	bad := err != nil || !slices.Contains([]string{"redis", "rediss", "unix"}, u.Scheme)
	if !bad && u.Scheme == "unix" {
		bad = u.Path == ""
	} else if !bad {
		bad = u.Host == "" || hostPortProblem(withPort(u.Host)) != ""
	}
	if bad {
		// A URL may carry credentials (redis://:password@host): never quoted.
		return fmt.Sprintf("must be an absolute URL with scheme redis or rediss or unix, got %q", redactURL(addr))
	}
	return ""
}

// withPort adds Redis's port to a URL host without one.
func withPort(host string) string {
	if _, _, err := net.SplitHostPort(host); err != nil {
		return net.JoinHostPort(strings.Trim(host, "[]"), "6379")
	}
	return host
}

// hostPortProblem says what is wrong with host:port ("" when nothing): a
// host without '/', spaces or '@', and a port from 1 to 65535.
func hostPortProblem(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Sprintf("must be host:port, got %q", redactURL(a))
	}
	if host == "" || strings.ContainsAny(host, "/@ \t") {
		return fmt.Sprintf("must be host:port with a host name or address, got %q", redactURL(a))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("must be host:port with a port from 1 to 65535, got %q", redactURL(a))
	}
	return ""
}

// Where names the Redis this config points at for an operator's message:
// the address (a URL's credentials left out), a Cluster's seed nodes, or
// the Sentinel primary's name and its sentinels.
func (r Redis) Where() string {
	switch r.Mode {
	case RedisCluster:
		return "cluster " + strings.Join(r.Addrs, ",")
	case RedisSentinel:
		return "sentinel primary " + r.MasterName + " via " + strings.Join(r.SentinelAddrs, ",")
	}
	addr := r.Addr
	if i := strings.Index(addr, "://"); i >= 0 {
		if at := strings.LastIndex(addr, "@"); at > i {
			return addr[:i+3] + addr[at+1:]
		}
	}
	return addr
}
