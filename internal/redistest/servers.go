package redistest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Port ranges of the servers tests start themselves; never 6379, whose
// Redis is shared.
const (
	clusterPorts  = 7000 // 7000-7099 (and their cluster bus ports +10000)
	sentinelPorts = 7100 // 7100-7199
	// 7200-7299: StartPersistent's servers, which the chaos suite kills
	// and restarts on the same port: a range of their own, so a test of
	// another package (go test runs packages in parallel) can not take
	// the port in the second it is down.
	persistentPorts = 7200
	rangeSize       = 100
)

// NeedServer skips t when redis-server is not installed: the only reason a
// test that starts its own Redis may skip (CI installs it).
func NeedServer(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed", bin)
		}
	}
}

// Server is one redis-server (or sentinel) process a test started.
type Server struct {
	Addr string
	Port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the process exited
	log  string
	dir  string
	args []string
}

// Kill sends SIGKILL and waits for the process to exit.
func (s *Server) Kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// Freeze stops the process (SIGSTOP): it holds its connections but answers
// nothing. Thaw resumes it.
func (s *Server) Freeze() { _ = s.cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw resumes a frozen process (SIGCONT).
func (s *Server) Thaw() { _ = s.cmd.Process.Signal(syscall.SIGCONT) }

// Client is a plain client of this server alone.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ReplicaClient is a client of this server that reads from it even when
// it is a Cluster replica (READONLY on every connection).
func (s *Server) ReplicaClient(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DialTimeout: time.Second, ReadTimeout: 2 * time.Second,
		OnConnect: func(ctx context.Context, cn *redis.Conn) error {
			if err := cn.ReadOnly(ctx).Err(); err != nil && !strings.Contains(err.Error(), "cluster support disabled") {
				return err
			}
			return nil
		}})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// pickBase chooses a random block of n ports in [start, start+rangeSize)
// whose ports (and, for a cluster, bus ports) are free now. Another
// package's test may take them meanwhile: callers retry on a failed start.
func pickBase(start, n int, bus bool) (int, error) {
	blocks := rangeSize / n
	for _, b := range rand.Perm(blocks) {
		base := start + b*n
		if portsFree(base, n, bus) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d free ports in %d-%d", n, start, start+rangeSize-1)
}

func portsFree(base, n int, bus bool) bool {
	for p := base; p < base+n; p++ {
		for _, q := range []int{p, p + 10000} {
			if q != p && !bus {
				continue
			}
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(q))
			if err != nil {
				return false
			}
			_ = l.Close()
		}
	}
	return true
}

// startServer starts redis-server with args in dir and waits until it
// answers PING; an error if it exits first (its port was taken) or does not
// answer within 10 s.
func startServer(dir string, port int, args ...string) (*Server, error) {
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port, dir: dir}
	s.log = filepath.Join(dir, fmt.Sprintf("redis-%d.log", port))
	s.args = append(args, "--logfile", s.log)
	return s, s.run()
}

// RestartAsReplicaOf starts a stopped server again as primary's replica,
// as an operator brings back a failed primary that keeps no data on disk:
// it can never come back as an empty primary that the sentinels (after
// an aborted failover) would make the others replicate.
func (s *Server) RestartAsReplicaOf(t testing.TB, primary *Server) {
	t.Helper()
	s.args = append(append([]string(nil), s.args...), "--replicaof", "127.0.0.1", primary.port())
	s.Restart(t)
}

// Restart starts a killed server again, with the same arguments (a killed
// primary comes back empty, and the sentinels make it a replica).
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if !s.exited() {
		t.Fatalf("%s is still running", s.Addr)
	}
	if err := s.run(); err != nil {
		t.Fatal(err)
	}
}

// run starts the process and waits until it answers PING.
func (s *Server) run() error {
	port, logPath := s.Port, s.log
	s.done = make(chan struct{})
	s.cmd = exec.Command("redis-server", s.args...)
	s.cmd.Dir = s.dir
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if s.exited() || time.Now().After(deadline) {
			s.Kill()
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("redis-server on %d did not start: %v; log: %s", port, err, tail(string(b)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

// baseArgs are every test server's: loopback only, no persistence.
func baseArgs(port int) []string {
	return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--protected-mode", "no"}
}

// group starts servers, and kills them all when the test ends.
type group struct {
	t       testing.TB
	servers []*Server
}

func (g *group) start(dir string, port int, args ...string) (*Server, error) {
	s, err := startServer(dir, port, args...)
	if err != nil {
		return nil, err
	}
	g.servers = append(g.servers, s)
	return s, nil
}

func (g *group) killAll() {
	for _, s := range g.servers {
		if !s.exited() {
			s.Kill()
		}
	}
	g.servers = nil
}

// withRetries runs try with a fresh group up to three times (another
// package's test may take a port between the check and the start), and
// registers the last group's cleanup.
func withRetries(t testing.TB, try func(g *group) error) {
	t.Helper()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		g := &group{t: t}
		if err = try(g); err == nil {
			t.Cleanup(g.killAll)
			return
		}
		g.killAll()
	}
	t.Fatalf("starting Redis servers: %v", err)
}

// errNotReady: a setup did not reach its ready state in time.
var errNotReady = errors.New("not ready")
